/**
 * What the server's clients are told of a failure whose detail is not theirs to see, and what its
 * log gets instead. A model provider's failure (a `ProviderError`, or an `error` event with one of
 * its codes) reaches clients as its stable code, `retryable`, its status and a message in sluice's
 * own words (`ProviderError.publicMessage`): the provider's type and code when they are machine
 * tokens, never its message, a URL or a connection's error (they can carry organization ids,
 * internal host names and addresses, request ids, deployment names, quota details). An error that
 * is not a sluice error already reaches them as `SAFE_ERROR_MESSAGE`. The run that failed logs
 * the detail once, with its stream id ({@link RunFailedError}).
 *
 * @module
 */
import { isAbortError, isSluiceError } from '../core/errors.ts';
import type { AgentEvent, ErrorEvent } from '../protocol/types.ts';
import { PROVIDER_ERROR_CODES, describeProviderFailure, isProviderError, providerErrorOf, providerToken, type ProviderError } from '../providers/errors.ts';

/** Provider codes whose message is sluice's own words about its configuration (they name the variable to set): shown as they are. */
const CONFIGURATION_CODES: ReadonlySet<string> = new Set(['provider_api_key_missing', 'provider_base_url_missing']);

/**
 * Whether `code` is a model provider's failure, whose message may carry the provider's own text.
 * @param code - an error code
 * @returns true for the `provider_*` codes of `PROVIDER_ERROR_CODES` but the configuration ones
 */
export function isProviderFailureCode(code: string): boolean {
  return Object.hasOwn(PROVIDER_ERROR_CODES, code) && !CONFIGURATION_CODES.has(code);
}

/**
 * Whether a run that ends with an error of this code logs it itself (see {@link RunFailedError}):
 * a provider's failure, and `internal_error` (whose detail clients never get either). A response
 * that reads such an error back from a stream's log does not log it again.
 * @param code - the code of the run's `error` event
 * @returns true when the run reports it
 */
export function isReportedByRun(code: string): boolean {
  return code === 'internal_error' || isProviderFailureCode(code);
}

/**
 * A provider error's message for clients: its `publicMessage`, or the same sentence built from its
 * fields for a `ProviderError` of another installed copy of sluice that has none.
 * @param error - the provider error
 * @returns the public message
 */
export function publicProviderMessage(error: ProviderError): string {
  const own = (error as { publicMessage?: unknown }).publicMessage;
  return typeof own === 'string'
    ? own
    : describeProviderFailure({ code: error.code, statusCode: error.statusCode, providerType: error.providerType, providerCode: error.providerCode });
}

/**
 * The message clients get for a thrown error instead of its own, when they get another: a provider
 * error's public message. (A sluice error with a provider's code that is not a `ProviderError` was
 * made by the server from an `error` event it had already made public: a stream's first event,
 * a gateway's completion.)
 * @param error - what was thrown
 * @returns the message to answer with, or undefined to answer as usual (`toErrorResponse`)
 */
export function publicMessageOf(error: unknown): string | undefined {
  return isProviderError(error) ? publicProviderMessage(error) : undefined;
}

/** The detail of a failure that clients were not given, for the log. */
export interface HiddenFailure {
  /** The code clients got. */
  code: string;
  /** The whole message (the provider's own text, the connection's error). */
  detail: string;
  /** The error itself, when there is one (its `responseBody`, `url`, `cause` …). */
  error?: unknown;
}

/**
 * What clients get for an `error` event a run (or a gateway request) produced. An event of a
 * provider's failure gets the public message, and its `providerType` and `providerCode` only when
 * they are machine tokens; any other event is returned as it is.
 * @param event - the `error` event as the agent or the provider made it
 * @returns the event to send, and the detail for the log when the run reports this failure
 */
export function publicErrorEvent(event: ErrorEvent): { event: ErrorEvent; hidden?: HiddenFailure } {
  if (!isReportedByRun(event.code)) return { event };
  const origin = providerErrorOf(event);
  const hidden: HiddenFailure = { code: event.code, detail: event.message, ...(origin === undefined ? {} : { error: origin }) };
  if (!isProviderFailureCode(event.code)) return { event, hidden };
  const shown: ErrorEvent = {
    ...event,
    message:
      origin !== undefined
        ? publicProviderMessage(origin)
        : describeProviderFailure({ code: event.code, statusCode: event.status, providerType: event.providerType, providerCode: event.providerCode }),
  };
  if ('providerType' in event) shown.providerType = providerToken(event.providerType);
  if ('providerCode' in event) shown.providerCode = providerToken(event.providerCode);
  return { event: shown, hidden };
}

/**
 * The detail of a thrown error that clients get less of: a provider error (they get its public
 * message) or an error that is not a sluice error (they get `SAFE_ERROR_MESSAGE`), or a sluice
 * error with a code {@link isReportedByRun}. Aborts and other sluice errors, whose message clients
 * get whole, have none.
 * @param error - what a run's source threw
 * @returns the detail for the log, or undefined
 */
export function hiddenFailureOf(error: unknown): HiddenFailure | undefined {
  if (isProviderError(error)) return { code: error.code, detail: error.message, error };
  if (isSluiceError(error)) return isReportedByRun(error.code) ? { code: error.code, detail: error.message, error } : undefined;
  if (isAbortError(error)) return undefined;
  return { code: 'internal_error', detail: error instanceof Error ? error.message : String(error), error };
}

/**
 * What a run that failed reports to the server's `onError`, once, on the instance that ran it: the
 * stream id, the code its clients got and the whole detail they did not (the original error is its
 * `cause`, printed with it by `console.error`).
 */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  /** The stream of the run. */
  readonly streamId: string;
  /** The code its clients got. */
  readonly code: string;

  /**
   * @param streamId - the run's stream id
   * @param failure - what the clients did not get
   */
  constructor(streamId: string, failure: HiddenFailure) {
    super(`sluice: stream ${streamId} failed (${failure.code}): ${failure.detail}`, failure.error === undefined ? undefined : { cause: failure.error });
    this.streamId = streamId;
    this.code = failure.code;
    // The place of interest is the cause's stack (where the provider failed), not the run's loop.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/**
 * A source whose `error` events are made public ({@link publicErrorEvent}) for a request that is no
 * run (the gateway's non-streaming completion); `onHidden` is told the detail of the one it changed.
 * `next` and `return` go straight to the source's iterator.
 * @param events - the source
 * @param onHidden - told the detail clients do not get
 * @returns the events to answer from
 */
export function publicEvents(events: AsyncIterable<AgentEvent>, onHidden: (failure: HiddenFailure) => void): AsyncIterable<AgentEvent> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = events[Symbol.asyncIterator]();
      const show = (result: IteratorResult<AgentEvent>): IteratorResult<AgentEvent> => {
        if (result.done === true || result.value.type !== 'error') return result;
        const shown = publicErrorEvent(result.value);
        if (shown.hidden !== undefined) onHidden(shown.hidden);
        return { done: false, value: shown.event };
      };
      return {
        next: () => iterator.next().then(show),
        return: (value?: unknown) => (iterator.return === undefined ? Promise.resolve({ done: true, value: undefined }) : iterator.return(value)),
      };
    },
  };
}
