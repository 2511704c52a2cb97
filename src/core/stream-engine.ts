/**
 * The pull engine shared by the Web and Node paths: pulls items only while the sink has room,
 * gathers items that are ready at once into one write, holds the head until the first item,
 * sends heartbeats while idle, and turns errors into statuses or in-band error signals.
 *
 * @module
 */
import { abortReasonText, CORE_ERROR_CODES, errorResponseHeaders, isAbortError, toErrorResponse, type ErrorBody } from './errors.ts';
import { openSource, type PullIterator } from './open-source.ts';
import { utf8Length } from './utf8-length.ts';
import { text } from './text-format.ts';
import type { Format, Source, StreamOptions, StreamOutcome, StreamResult } from './types.ts';

/** Where the engine writes: a Node `ServerResponse`, a `ReadableStream` controller, a test double. */
export interface Sink {
  /** Sends the status and headers; `flushNow` when no body byte follows at once. */
  commit(status: number, headers: Record<string, string>, flushNow: boolean): void;
  /** Writes one chunk; false when the consumer is full (the engine then waits for `resume()`). */
  write(chunk: string | Uint8Array): boolean;
  /** Ends the body cleanly. */
  end(): void;
  /** Ends the body as a failed transfer (no clean end of the chunked body). */
  abort(error: unknown): void;
}

/** A running stream. */
export interface StreamEngine {
  /** Starts pulling. */
  start(): void;
  /** The sink has room again. */
  resume(): void;
  /** Stops at once: aborts the source's signal and calls the iterator's `return()`. */
  cancel(reason: unknown, outcome: Extract<StreamOutcome, 'disconnected' | 'aborted'>): void;
  /** Settles when the stream is over; never rejects. */
  readonly done: Promise<StreamResult>;
}

/** Headers every streaming response gets: no caching, no transformation (compression), no proxy buffering, no sniffing. */
export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
};

const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_HOLD_HEADERS_MS = 10_000;
const DEFAULT_MAX_BATCH_BYTES = 16 * 1024;

// A macrotask boundary: items that arrive before it are "ready at once" and leave in one write.
// setImmediate (Node, Bun) runs right after pending I/O; elsewhere setTimeout(0) is the closest.
const nextMacrotask: (callback: () => void) => unknown =
  typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate : (callback) => setTimeout(callback, 0);

// One macrotask flushes every stream that gathered items in this turn: thousands of slow streams
// whose items arrive in the same timer phase then cost one Immediate, not one each.
let flushQueue: (() => void)[] = [];

function runFlushQueue(): void {
  const queue = flushQueue;
  flushQueue = [];
  // Each task is an engine's flushTask, which runs its sink steps in guarded() and never throws.
  for (let i = 0; i < queue.length; i++) (queue[i] as () => void)();
}

function scheduleFlush(task: () => void): void {
  if (flushQueue.push(task) === 1) nextMacrotask(runFlushQueue);
}

const utf8 = new TextEncoder();

function concatParts(parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((part) => (typeof part === 'string' ? utf8.encode(part) : part));
  let length = 0;
  for (const part of bytes) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of bytes) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

// setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII and Latin-1, spaces and tabs: what both Node and the Headers class accept.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function checkMs(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS)) {
    throw new RangeError(`Expected \`${name}\` to be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${String(value)}.`);
  }
}

/**
 * Lower-cases header names, so that a caller's `Content-Type` replaces the format's
 * `content-type` instead of being sent next to it.
 * @throws TypeError for a name or value that is not a valid HTTP header
 */
function normalizeHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new TypeError(`Expected a valid HTTP header name, got ${JSON.stringify(name)}.`);
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new TypeError(
        `Expected the value of header "${name}" to be a string of visible ASCII or Latin-1 characters (no CR, LF or NUL), got ${JSON.stringify(value)}. Encode other text first (RFC 5987 for filenames).`,
      );
    }
    out[name.toLowerCase()] = value;
  }
  return out;
}

/**
 * Validates options at the call, so that bad arguments fail there and not inside the stream.
 * @throws RangeError for negative or non-finite durations and sizes
 */
export function checkStreamOptions(options: StreamOptions<unknown>): void {
  checkMs('heartbeatMs', options.heartbeatMs);
  checkMs('holdHeadersMs', options.holdHeadersMs);
  checkMs('sendTimeoutMs', options.sendTimeoutMs);
  if (options.maxBatchBytes !== undefined && !(options.maxBatchBytes >= 1)) {
    throw new RangeError(`Expected \`maxBatchBytes\` to be a number >= 1, got ${String(options.maxBatchBytes)}.`);
  }
  const status = options.status;
  if (status !== undefined && !(Number.isInteger(status) && status >= 200 && status <= 599 && status !== 204 && status !== 205 && status !== 304)) {
    throw new RangeError(`Expected \`status\` to be an integer from 200 to 599 that allows a body (not 204, 205 or 304), got ${String(status)}.`);
  }
  normalizeHeaders(options.headers);
  normalizeHeaders(options.format?.headers);
}

/**
 * Creates the engine that moves `source` into `sink`.
 * @param source - any source
 * @param options - stream options (validated by the caller with {@link checkStreamOptions})
 * @param sink - where bytes go
 * @returns the engine; call `start()`
 */
export function createStreamEngine<T>(source: Source<T>, options: StreamOptions<T>, sink: Sink): StreamEngine {
  const format = (options.format ?? text()) as Format<T>;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const holdHeadersMs = options.holdHeadersMs ?? DEFAULT_HOLD_HEADERS_MS;
  const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const sendTimeoutMs = options.sendTimeoutMs ?? 0;
  const heartbeat = heartbeatMs > 0 ? format.heartbeat : undefined;
  const controller = new AbortController();

  let committed = false;
  let closed = false;
  let paused = false;
  let iterator: PullIterator<T> | undefined;
  let items = 0;
  let lastWriteAt = 0;
  let flushScheduled = false;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  let heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  let sendTimer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;

  // Pending output: a string that grows by concatenation (V8 ropes), plus byte chunks when the
  // source yields bytes. Most batches are one string and leave in one write.
  let pendingText = '';
  let pendingParts: (string | Uint8Array)[] | undefined;
  // UTF-8 bytes of the pending output measured so far, and the pending text not measured yet (a
  // rope of its own). Measuring each item would flatten each encoder's rope on its own, which
  // costs more than the rest of the engine; instead a bound decides (1 to 3 bytes per UTF-16
  // code unit) and the text is measured only when the bound cannot, once per character.
  let pendingBytes = 0;
  let unmeasured = '';
  // Body bytes written, counted here (pending batches are measured anyway) so sinks need not.
  let written = 0;

  let settle!: (result: StreamResult) => void;
  const done = new Promise<StreamResult>((resolve) => (settle = resolve));

  const externalSignal = options.signal;
  const onExternalAbort = (): void => cancel(externalSignal?.reason, 'aborted');

  function headers(): Record<string, string> {
    return { 'content-type': format.contentType, ...STREAM_HEADERS, ...normalizeHeaders(format.headers), ...normalizeHeaders(options.headers) };
  }

  function commit(flushNow: boolean): void {
    committed = true;
    if (holdTimer !== undefined) clearTimeout(holdTimer);
    holdTimer = undefined;
    sink.commit(options.status ?? 200, headers(), flushNow);
    lastWriteAt = performance.now();
    if (heartbeat !== undefined) armHeartbeat(heartbeatMs);
  }

  function armHeartbeat(ms: number): void {
    heartbeatTimer = setTimeout(beat, ms);
    unref(heartbeatTimer);
  }

  /** Writes a chunk that is not a batch of items (heartbeat, error or abort signal), counting its bytes. */
  function writeOther(chunk: string | Uint8Array): boolean {
    written += typeof chunk === 'string' ? utf8Length(chunk) : chunk.byteLength;
    return sink.write(chunk);
  }

  /** The sink is full: wait for `resume()`, for at most the send timeout. */
  function pause(): void {
    paused = true;
    if (sendTimeoutMs > 0 && sendTimer === undefined && !closed) {
      sendTimer = setTimeout(sendTimedOut, sendTimeoutMs);
      unref(sendTimer);
    }
  }

  /** A write did not drain in time (a half-open socket, a client that stopped reading): a disconnect. */
  function sendTimedOut(): void {
    sendTimer = undefined;
    if (closed || !paused) return;
    const reason = new DOMException(`The client did not read for ${sendTimeoutMs} ms (sendTimeoutMs).`, 'TimeoutError');
    cancel(reason, 'disconnected');
    try {
      sink.abort(reason);
    } catch {
      // The sink is already gone: the connection it would close is closed.
    }
  }

  function beat(): void {
    heartbeatTimer = undefined;
    if (closed || heartbeat === undefined) return;
    // Only while the consumer has room: a paused stream is not idle, its consumer is full.
    // resume() arms the timer again.
    if (paused) return;
    const idle = performance.now() - lastWriteAt;
    // Restarted after each real write (lastWriteAt), so heartbeats only fill real silence.
    if (idle >= heartbeatMs - 1) {
      guarded(() => {
        if (!writeOther(heartbeat)) pause();
      });
      lastWriteAt = performance.now();
      if (!closed && !paused) armHeartbeat(heartbeatMs);
    } else {
      armHeartbeat(Math.max(1, heartbeatMs - idle));
    }
  }

  /**
   * Runs sink or format code outside the pull loop (timers, error paths). If it throws, the
   * stream cannot continue cleanly: the transfer is aborted and the result says why.
   */
  function guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (!closed) {
        closed = true;
        controller.abort(error);
        stopSource();
      }
      try {
        sink.abort(error);
      } catch {
        // The sink failed to abort too: it is already gone, nothing is left to release.
      }
      cleanup('errored', error);
    }
  }

  function append(chunk: string | Uint8Array): void {
    if (typeof chunk === 'string') {
      pendingText = pendingText === '' ? chunk : pendingText + chunk;
      unmeasured = unmeasured === '' ? chunk : unmeasured + chunk;
      return;
    }
    if (pendingText !== '') {
      (pendingParts ??= []).push(pendingText);
      pendingText = '';
    }
    (pendingParts ??= []).push(chunk);
    pendingBytes += chunk.byteLength;
  }

  /** Whether the pending output has reached `maxBatchBytes` UTF-8 bytes, measuring only when unsure. */
  function batchFull(): boolean {
    const units = unmeasured.length;
    if (pendingBytes + units >= maxBatchBytes) return true;
    if (pendingBytes + units * 3 < maxBatchBytes) return false;
    pendingBytes += utf8Length(unmeasured);
    unmeasured = '';
    return pendingBytes >= maxBatchBytes;
  }

  function flush(): void {
    if (pendingText === '' && pendingParts === undefined) return;
    if (!committed) commit(false);
    let ok: boolean;
    if (pendingParts === undefined) {
      ok = sink.write(pendingText);
    } else if (pendingParts.length === 1 && pendingText === '') {
      ok = sink.write(pendingParts[0] as Uint8Array | string);
    } else {
      // Several pieces ready at once leave in one write. (Node's cork()/uncork() would do this
      // without a copy, but a corked ServerResponse can miss its 'drain' event on Node 24 and
      // stall the stream; copying at most one batch is cheap.)
      if (pendingText !== '') pendingParts.push(pendingText);
      ok = sink.write(concatParts(pendingParts));
    }
    // Measured after the write: when the unmeasured text is all of it (a lone item, the slow-stream
    // case), the write already flattened that very string in place, so this copies nothing.
    written += pendingBytes + (unmeasured === '' ? 0 : utf8Length(unmeasured));
    pendingText = '';
    pendingParts = undefined;
    pendingBytes = 0;
    unmeasured = '';
    lastWriteAt = performance.now();
    if (!ok) pause();
  }

  function flushTask(): void {
    flushScheduled = false;
    if (!closed) guarded(flush);
  }

  let settled = false;
  function cleanup(outcome: StreamOutcome, error?: unknown): void {
    closed = true;
    if (settled) return;
    settled = true;
    if (holdTimer !== undefined) clearTimeout(holdTimer);
    if (heartbeatTimer !== undefined) clearTimeout(heartbeatTimer);
    if (sendTimer !== undefined) clearTimeout(sendTimer);
    holdTimer = heartbeatTimer = sendTimer = undefined;
    externalSignal?.removeEventListener('abort', onExternalAbort);
    wake?.();
    const result: StreamResult = { outcome, items, bytes: written };
    if (error !== undefined) result.error = error;
    settle(result);
  }

  function stopSource(): void {
    const it = iterator;
    if (it === undefined) return;
    try {
      const returned = it.return();
      if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
        // A producer whose finally block throws while being stopped: the stream is already over
        // and the client gone or answered, so there is nobody left to tell.
        (returned as Promise<unknown>).then(undefined, () => undefined);
      }
    } catch {
      // Same as above, for a synchronous iterator's return().
    }
  }

  function cancel(reason: unknown, outcome: Extract<StreamOutcome, 'disconnected' | 'aborted'>): void {
    if (closed) return;
    closed = true;
    controller.abort(reason);
    stopSource();
    if (outcome === 'aborted') {
      // Stopped from outside: never a clean success. Before the head, a real error status; after
      // it, the format's in-band abort signal, or an aborted transfer when it has none.
      guarded(() => {
        const why = abortReasonText(reason);
        if (!committed) {
          commitError(CORE_ERROR_CODES.aborted, { error: { code: 'aborted', message: `The stream was stopped: ${why}.` } });
          return;
        }
        flush();
        if (format.encodeAbort !== undefined) {
          writeOther(format.encodeAbort(why));
          sink.end();
        } else {
          sink.abort(reason);
        }
      });
    }
    cleanup(outcome);
  }

  /**
   * Answers with a real HTTP error and a JSON body, when nothing has left yet (items that were
   * ready but unsent are dropped with the stream).
   */
  function commitError(status: number, body: ErrorBody): void {
    committed = true;
    pendingText = '';
    pendingParts = undefined;
    pendingBytes = 0;
    unmeasured = '';
    if (holdTimer !== undefined) clearTimeout(holdTimer);
    sink.commit(status, errorResponseHeaders(normalizeHeaders(options.headers)), false);
    writeOther(JSON.stringify(body));
    sink.end();
  }

  function fail(error: unknown): void {
    if (closed) return;
    closed = true;
    controller.abort(error);
    stopSource();
    guarded(() => {
      let message: ReturnType<typeof toErrorResponse>;
      try {
        message = toErrorResponse(error, options.onError);
      } catch {
        // onError itself threw: fall back to the safe message rather than lose the response.
        message = toErrorResponse(error);
      }
      const { status, body } = message;
      if (!committed) {
        commitError(status, body);
      } else {
        flush();
        if (format.encodeError !== undefined) {
          writeOther(format.encodeError(body.error));
          sink.end();
        } else {
          sink.abort(error);
        }
      }
      cleanup('errored', error);
    });
  }

  function finish(): void {
    if (closed) return;
    guarded(() => {
      flush();
      if (!committed) commit(false);
      closed = true;
      sink.end();
      cleanup('completed');
    });
  }

  function waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => {
      wake = () => {
        wake = undefined;
        resolve();
      };
    });
  }

  async function run(): Promise<void> {
    let it: PullIterator<T>;
    try {
      it = iterator = openSource(source, controller.signal);
    } catch (error) {
      fail(error);
      return;
    }
    try {
      while (!closed) {
        if (paused) {
          await waitForRoom();
          if (closed) return;
        }
        let result = it.next();
        if (typeof (result as Promise<IteratorResult<T>>).then === 'function') result = await result;
        if (closed) return;
        if ((result as IteratorResult<T>).done) break;
        items++;
        append(format.encode((result as IteratorYieldResult<T>).value));
        if (batchFull()) {
          flush();
          // Fairness: an always-ready producer (a sync generator, an async one that never waits)
          // would otherwise run its whole stream while the socket takes it, starving every other
          // request. One macrotask per full batch costs nothing next to the batch itself. Also
          // when the sink is full: a Web body's reader asks for more in a microtask, so waiting
          // for room alone would not yield either.
          await new Promise<void>(nextMacrotask);
          if (closed) return;
        } else if (!flushScheduled) {
          flushScheduled = true;
          scheduleFlush(flushTask);
        }
      }
    } catch (error) {
      if (closed && isAbortError(error)) return;
      fail(error);
      return;
    }
    finish();
  }

  return {
    start() {
      // Cancelled before it started (a client already gone): nothing to pull.
      if (closed) return;
      if (externalSignal?.aborted) {
        cancel(externalSignal.reason, 'aborted');
        return;
      }
      externalSignal?.addEventListener('abort', onExternalAbort, { once: true });
      if (Number.isFinite(holdHeadersMs)) {
        holdTimer = setTimeout(() => {
          holdTimer = undefined;
          if (closed || committed) return;
          // Nothing yet: send the head so proxies and clients see bytes, then a heartbeat at once.
          guarded(() => {
            commit(heartbeat === undefined);
            if (heartbeat !== undefined && !writeOther(heartbeat)) pause();
          });
        }, holdHeadersMs);
        unref(holdTimer);
      }
      void run();
    },
    resume() {
      if (!paused) return;
      paused = false;
      if (sendTimer !== undefined) {
        clearTimeout(sendTimer);
        sendTimer = undefined;
      }
      if (committed && heartbeat !== undefined && heartbeatTimer === undefined && !closed) armHeartbeat(heartbeatMs);
      wake?.();
    },
    cancel,
    done,
  };
}
