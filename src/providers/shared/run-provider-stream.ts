/**
 * The reliability loop every provider shares: retries before the first event, a time-to-first-token
 * and an idle timeout, abort on `signal` or `return()`, and the rule "throw before the first event,
 * emit an `error` event after it".
 *
 * @module
 */
import { isAbortError } from '../../core/errors.ts';
import { sleep } from '../../core/sleep.ts';
import type { AgentEvent } from '../../protocol/types.ts';
import { ProviderError, toErrorEvent } from '../errors.ts';
import { createCapturingFetch } from './capture-fetch.ts';
import { DEFAULT_RETRY_OPTIONS, retryDelayMs } from './retry.ts';
import type { RetryOptions } from './retry.ts';
import { toProviderError } from './to-provider-error.ts';
import { Watchdog } from './watchdog.ts';
import type { Timeout } from './watchdog.ts';
import type { ProviderErrorContext } from './to-provider-error.ts';

/** Timeouts and retries of a provider; every factory accepts them. */
export interface ReliabilityOptions extends RetryOptions {
  /**
   * Longest wait from sending the request to the first event of the answer (text, reasoning or a
   * tool call). It fires before any event, so the error is thrown (`provider_first_token_timeout`).
   * @defaultValue 60000
   */
  firstTokenTimeoutMs?: number;
  /**
   * Longest wait for the next chunk once the answer has started; time the consumer spends between
   * reads does not count. It ends the stream with an `error` event (`provider_idle_timeout`).
   * @defaultValue 30000
   */
  idleTimeoutMs?: number;
}

/** The defaults of {@link ReliabilityOptions}. */
export const DEFAULT_RELIABILITY_OPTIONS: Required<ReliabilityOptions> = {
  ...DEFAULT_RETRY_OPTIONS,
  firstTokenTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
};

/**
 * Checks reliability options at the factory call, not later inside a stream.
 * @param options - what the user passed
 * @returns the options with defaults
 * @throws RangeError when a value is negative or not a number
 */
export function resolveReliabilityOptions(options: ReliabilityOptions): Required<ReliabilityOptions> {
  const resolved = { ...DEFAULT_RELIABILITY_OPTIONS };
  for (const key of Object.keys(DEFAULT_RELIABILITY_OPTIONS) as (keyof ReliabilityOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new RangeError(`Expected \`${key}\` to be a number >= 0, got \`${String(value)}\` (${typeof value}).`);
    }
    resolved[key] = value;
  }
  return resolved;
}

/** Turns a provider's chunks into agent events; one mapper per attempt. */
export interface StreamEventMapper<Chunk> {
  /** The events one chunk gives (often none or one). Throws a ProviderError for an error chunk. */
  push(chunk: Chunk): AgentEvent[];
  /** The events after the last chunk, ending with `finish`; throws when the stream ended early. */
  end(): AgentEvent[];
}

/** What {@link runProviderStream} needs from a provider. */
export interface RunProviderStreamOptions<Chunk> {
  /** Aborts the upstream request (the caller's signal). */
  signal?: AbortSignal | undefined;
  reliability: Required<ReliabilityOptions>;
  /** For messages and errors; `started` is filled in by the loop. */
  context: Omit<ProviderErrorContext, 'started' | 'responseBody'>;
  /** The fetch the SDK should use (the user's, or the global one). */
  fetch: typeof fetch;
  /**
   * Sends the request through the SDK with `signal` and `fetch` (a wrapper that keeps error
   * bodies verbatim); resolves once the response headers are in.
   */
  open(signal: AbortSignal, fetch: typeof globalThis.fetch): Promise<AsyncIterable<Chunk>>;
  /** A new mapper for each attempt. */
  createMapper(): StreamEventMapper<Chunk>;
}

/**
 * Events that carry no content: they are held back until the first one that does, so that a
 * failure before it can still be retried (or thrown) without the consumer having seen anything.
 */
const HELD_EVENT_TYPES: ReadonlySet<AgentEvent['type']> = new Set(['message-start', 'text-start', 'reasoning-start']);

/**
 * Runs a provider call with the shared reliability rules and yields its events.
 *
 * - The first yielded event is `message-start`; it and any `text-start` / `reasoning-start` are
 *   held back until the first event with content (a delta, a tool call, usage, the finish), so
 *   that any failure before it can still be retried or thrown. That event is the "first token"
 *   of `firstTokenTimeoutMs`.
 * - Before that, retryable failures (408, 409, 429, 5xx, 529, overloaded, connection errors) are
 *   retried with backoff and jitter, honouring `Retry-After`, at most `maxRetries` times; then the
 *   {@link ProviderError} is thrown from `next()`.
 * - After it, any failure ends the stream with one `error` event: retrying would duplicate output.
 * - An aborted `signal` or the iterator's `return()` aborts the upstream request at once; an
 *   aborted `signal` makes `next()` reject with `signal.reason`, unchanged.
 * @param options - the provider's request and mapping
 * @returns the events
 */
export function runProviderStream<Chunk>(options: RunProviderStreamOptions<Chunk>): AsyncIterable<AgentEvent> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
      const stopped = new AbortController();
      const state: LoopState = {
        controller: undefined,
        closed: false,
        // Ends a wait between retries on return() as well as on the caller's abort.
        stopped: { abort: (reason) => stopped.abort(reason), signal: options.signal ? AbortSignal.any([options.signal, stopped.signal]) : stopped.signal },
      };
      const generator = loop(options, state);
      return {
        next: () => generator.next(),
        return: async (value?: unknown) => {
          // Abort first: a pending next() is waiting on upstream and would delay the generator's return().
          state.closed = true;
          const reason = new DOMException('The consumer stopped reading.', 'AbortError');
          state.controller?.abort(reason);
          state.stopped.abort(reason);
          await generator.return(undefined);
          return { done: true, value: value as undefined };
        },
      };
    },
  };
}

interface LoopState {
  /** The current attempt's controller. */
  controller: AbortController | undefined;
  /** Set by return(). */
  closed: boolean;
  /** Aborted by return() or the caller's signal. */
  stopped: { abort(reason: unknown): void; signal: AbortSignal };
}

async function* loop<Chunk>(options: RunProviderStreamOptions<Chunk>, state: LoopState): AsyncGenerator<AgentEvent, void> {
  const { reliability, signal: callerSignal } = options;
  for (let attempt = 0; ; attempt++) {
    callerSignal?.throwIfAborted();
    const controller = new AbortController();
    state.controller = controller;
    const signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal;
    const watchdog = new Watchdog(controller);
    let started = false;
    const held: AgentEvent[] = [];
    let iterator: AsyncIterator<Chunk> | undefined;
    const capture = createCapturingFetch(options.fetch);
    let completed = false;
    try {
      watchdog.arm(reliability.firstTokenTimeoutMs, 'first-token');
      const chunks = await watchdog.race(options.open(signal, capture.fetch));
      iterator = chunks[Symbol.asyncIterator]();
      const mapper = options.createMapper();
      const emit = function* (events: AgentEvent[]): Generator<AgentEvent> {
        for (const event of events) {
          if (!started) {
            if (HELD_EVENT_TYPES.has(event.type)) {
              held.push(event);
              continue;
            }
            started = true;
            watchdog.disarm();
            if (held[0]?.type !== 'message-start') yield { type: 'message-start', messageId: crypto.randomUUID() };
            yield* held;
            held.length = 0;
          }
          yield event;
        }
      };
      for (;;) {
        // Before the first event the first-token deadline keeps running; after it, each wait for a
        // chunk gets the idle budget, and time spent in the consumer (at `yield`) is not counted.
        if (started) watchdog.arm(reliability.idleTimeoutMs, 'idle');
        const result = await watchdog.race(iterator.next());
        if (started) watchdog.disarm();
        if (result.done) break;
        yield* emit(mapper.push(result.value));
      }
      // The SDKs end an aborted stream quietly; find out why it ended.
      if (watchdog.fired) throw new DOMException('timeout', 'TimeoutError');
      callerSignal?.throwIfAborted();
      if (state.closed) return;
      yield* emit(mapper.end());
      completed = true;
      return;
    } catch (error) {
      watchdog.disarm();
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (state.closed) return;
      const failure = watchdog.fired
        ? timeoutError(watchdog.fired, reliability, options.context)
        : isAbortError(error)
          ? undefined
          : toProviderError(error, { ...options.context, started, responseBody: capture.errorBody });
      if (failure === undefined) throw error;
      if (started) {
        yield toErrorEvent(failure);
        return;
      }
      const delay =
        failure.isRetryable && !watchdog.fired && attempt < reliability.maxRetries
          ? retryDelayMs(attempt, reliability, failure.retryAfterMs)
          : undefined;
      if (delay === undefined) throw failure;
      try {
        await sleep(delay, state.stopped.signal);
      } catch (error) {
        // return() during the wait ends the stream quietly; the caller's abort passes through.
        if (state.closed) return;
        throw callerSignal?.reason ?? error;
      }
    } finally {
      watchdog.dispose();
      if (!completed) controller.abort(new DOMException('The provider stream was closed.', 'AbortError'));
      // Releases the SDK's stream; its own `finally` aborts the request if it was not done.
      iterator?.return?.()?.catch(() => undefined);
    }
  }
}

function timeoutError(
  kind: Timeout,
  reliability: Required<ReliabilityOptions>,
  context: RunProviderStreamOptions<unknown>['context'],
): ProviderError {
  return kind === 'first-token'
    ? new ProviderError(
        'provider_first_token_timeout',
        `${context.label} sent no answer within ${reliability.firstTokenTimeoutMs} ms (firstTokenTimeoutMs).`,
        { provider: context.provider, url: context.url, isRetryable: true },
      )
    : new ProviderError(
        'provider_idle_timeout',
        `${context.label} sent nothing for ${reliability.idleTimeoutMs} ms mid-stream (idleTimeoutMs).`,
        { provider: context.provider, url: context.url, isRetryable: true },
      );
}
