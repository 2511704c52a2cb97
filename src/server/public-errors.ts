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

/** The most characters of the detail, the URL and a stack's frames in a {@link RunFailedError}'s message, escapes included. */
const MAX_LOGGED_TEXT = 2000;
/** The most characters of the upstream response body in a {@link RunFailedError}'s message, escapes included. */
const MAX_LOGGED_BODY = 2048;

/**
 * What may not reach a log line as it is: C0 controls (`\n`, `\r` …), DEL, C1 controls, the line and
 * paragraph separators U+2028/U+2029 and the bidirectional overrides and isolates (which reorder how
 * a line reads).
 */
// eslint-disable-next-line no-control-regex
const LOG_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/** One character (or surrogate pair) as it is written inside a quoted log value. */
function escapeForLog(char: string): string {
  return SHORT_ESCAPES[char] ?? (LOG_UNSAFE.test(char) ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : char);
}

/**
 * `text` as one quoted, escaped value of at most `max` characters (quotes and escapes included; a
 * surrogate pair or an escape is never cut): what a client or an upstream chose can neither end the
 * log line nor make it long. A value that was cut says how long it was.
 * @param text - any text
 * @param max - the most characters of the value, quotes included
 * @returns `"…"`, or `"…"… (N characters)` when cut
 */
function quoteForLog(text: string, max: number): string {
  let out = '"';
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    const next = text.charCodeAt(index + 1);
    // A surrogate pair is copied whole; a lone surrogate is escaped like a control.
    const width = code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    const piece =
      width === 2 ? text.slice(index, index + 2) : code >= 0xd800 && code <= 0xdfff ? `\\u${code.toString(16)}` : escapeForLog(text.charAt(index));
    if (out.length + piece.length + 1 > max) break;
    out += piece;
    index += width;
  }
  return index < text.length ? `${out}"… (${text.length} characters)` : `${out}"`;
}

/**
 * A stream id or a code as it is (they are ids and snake_case codes), or quoted like
 * {@link quoteForLog} when it is anything else.
 */
function plainForLog(text: string): string {
  return /^[\w.:-]{1,200}$/.test(text) ? text : quoteForLog(text, 200);
}

/** A property of an error that neither `util.inspect` nor `console.error` prints. */
function defineHidden<T>(target: object, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: true });
}

/**
 * The fields of the failure's error worth a log line: a provider error's upstream status, URL and
 * response body; another error's stack frames (an internal error's place). Each value escaped and
 * bounded.
 */
function describeForLog(error: unknown): string {
  if (!(error instanceof Error)) return '';
  if (isProviderError(error)) {
    const { statusCode, url, responseBody } = error as Partial<ProviderError>;
    return [
      typeof statusCode === 'number' ? ` status=${statusCode}` : '',
      typeof url === 'string' ? ` url=${quoteForLog(url, MAX_LOGGED_TEXT)}` : '',
      typeof responseBody === 'string' ? ` responseBody=${quoteForLog(responseBody, MAX_LOGGED_BODY)}` : '',
    ].join('');
  }
  const stack = typeof error.stack === 'string' ? error.stack : '';
  const head = `${error.name}: ${error.message}`;
  const frames = (stack.startsWith(head) ? stack.slice(head.length) : stack).trim();
  return frames === '' ? '' : ` stack=${quoteForLog(frames, MAX_LOGGED_TEXT)}`;
}

/**
 * What a run that failed reports to the server's `onError`, once, on the instance that ran it: the
 * stream id, the code its clients got and the detail they did not.
 *
 * Its `message` is one line that neither a client nor an upstream can break or make long (the
 * detail is often the provider's text, which echoes what the client sent, such as the model id):
 * `sluice: stream <id> failed (<code>): "<detail>"`, then for a provider's failure
 * `status=<upstream status> url="<url>" responseBody="<body>"` and for another error
 * `stack="<its frames>"`. Each quoted value has `"`, `\`, control characters (C0, DEL, C1),
 * U+2028/U+2029 and bidirectional controls escaped (`\n`, `\u2028`) and is cut at 2,000 characters
 * (the response body at 2,048), saying its length when cut: under 7 KB in all. It has no other
 * enumerable property and no `cause`, so `console.error` (the default `onError`) prints that line
 * alone.
 *
 * The whole detail and the original error are kept for code of your own in `onError`, as
 * properties that `console.error` and `util.inspect` do not print (they hold the upstream's text
 * unescaped): {@link RunFailedError.detail} and {@link RunFailedError.error}.
 */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  /** The stream of the run. */
  declare readonly streamId: string;
  /** The code its clients got. */
  declare readonly code: string;
  /** The whole detail its clients did not get, unescaped and uncut (not enumerable). */
  declare readonly detail: string;
  /**
   * The error the run failed with, when there is one: a `ProviderError` (its `message`,
   * `responseBody`, `url`, `statusCode`, `cause`) or what the run's source threw. Not enumerable
   * (and not the `cause`), so logging the `RunFailedError` does not print its unescaped text.
   */
  declare readonly error: unknown;

  /**
   * @param streamId - the run's stream id
   * @param failure - what the clients did not get
   */
  constructor(streamId: string, failure: HiddenFailure) {
    super(
      `sluice: stream ${plainForLog(streamId)} failed (${plainForLog(failure.code)}): ${quoteForLog(failure.detail, MAX_LOGGED_TEXT)}${describeForLog(failure.error)}`,
    );
    defineHidden(this, 'streamId', streamId);
    defineHidden(this, 'code', failure.code);
    defineHidden(this, 'detail', failure.detail);
    defineHidden(this, 'error', failure.error);
    // One line: no frames (the run's loop is of no interest; an internal error's frames are in the message).
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
