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
  /**
   * Writes one chunk, `bytes` long in UTF-8 (the engine counts every chunk anyway, so sinks that
   * need the size need not measure it again); false when the consumer is full (the engine then
   * waits for `resume()`).
   */
  write(chunk: string | Uint8Array, bytes: number): boolean;
  /** Ends the body cleanly. */
  end(): void;
  /** Ends the body as a failed transfer (no clean end of the chunked body). */
  abort(error: unknown): void;
  /** Called once when the stream is over, before `done` settles: release what the sink holds (listeners). */
  settled?(result: StreamResult): void;
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

// The head of each format's responses, built and validated once and shared by the streams that
// use it. Keyed by the format's headers object, or by its content type when it has none (an
// `sse()` made per request is a new format each time, with the same head).
const headsByHeaders = new WeakMap<object, { contentType: string; head: Readonly<Record<string, string>> }>();
const headsByContentType = new Map<string, Readonly<Record<string, string>>>();
// Content types that vary per stream (a multipart boundary) are not worth keeping.
const MAX_CACHED_CONTENT_TYPES = 32;

function buildHead(format: Format<unknown>): Readonly<Record<string, string>> {
  return Object.freeze({ 'content-type': format.contentType, ...STREAM_HEADERS, ...normalizeHeaders(format.headers) });
}

function formatHead(format: Format<unknown>): Readonly<Record<string, string>> {
  const { contentType, headers } = format;
  if (headers === undefined) {
    let head = headsByContentType.get(contentType);
    if (head === undefined) {
      head = buildHead(format);
      if (headsByContentType.size < MAX_CACHED_CONTENT_TYPES) headsByContentType.set(contentType, head);
    }
    return head;
  }
  const cached = headsByHeaders.get(headers);
  if (cached !== undefined && cached.contentType === contentType) return cached.head;
  const head = buildHead(format);
  headsByHeaders.set(headers, { contentType, head });
  return head;
}

// One macrotask flushes every stream that gathered items in this turn: thousands of slow streams
// whose items arrive in the same timer phase then cost one Immediate, not one each.
let flushQueue: Engine<unknown>[] = [];

// When the running flush turn started: one clock read per turn stands for the time of each of its
// writes (it only decides when a stream is idle enough for a heartbeat).
let turnStartedAt = 0;

function runFlushQueue(): void {
  const queue = flushQueue;
  flushQueue = [];
  turnStartedAt = performance.now();
  // Each engine's flushTask runs its sink steps in guarded() and never throws.
  for (let i = 0; i < queue.length; i++) (queue[i] as Engine<unknown>).flushTask();
}

function beat(engine: Engine<unknown>): void {
  engine.beat();
}

function holdRanOut(engine: Engine<unknown>): void {
  engine.holdRanOut();
}

function sendTimedOut(engine: Engine<unknown>): void {
  engine.sendTimedOut();
}

/**
 * The engine of one stream. A class, so that a connection costs one object and its state, not a
 * closure per step: slow streams are many, and each holds its engine for its whole life.
 */
class Engine<T> implements StreamEngine {
  readonly done: Promise<StreamResult>;
  private settle!: (result: StreamResult) => void;
  private readonly source: Source<T>;
  private readonly options: StreamOptions<T>;
  private readonly sink: Sink;
  private readonly format: Format<T>;
  private readonly heartbeatMs: number;
  private readonly maxBatchBytes: number;
  private readonly heartbeat: string | Uint8Array | undefined;
  // Only a function source gets a signal: for the others nobody could observe it.
  private controller: AbortController | undefined;
  private onExternalAbort: (() => void) | undefined;

  private committed = false;
  private closed = false;
  private settled = false;
  private paused = false;
  private flushScheduled = false;
  private iterator: PullIterator<T> | undefined;
  private items = 0;
  private lastWriteAt = 0;
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private sendTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;

  // Pending output: a string that grows by concatenation (V8 ropes), plus byte chunks when the
  // source yields bytes. Most batches are one string and leave in one write.
  private pendingText = '';
  private pendingParts: (string | Uint8Array)[] | undefined;
  // UTF-8 bytes of the pending output measured so far, and the pending text not measured yet (a
  // rope of its own). Measuring each item would flatten each encoder's rope on its own, which
  // costs more than the rest of the engine; instead a bound decides (1 to 3 bytes per UTF-16
  // code unit) and the text is measured only when the bound cannot, once per character.
  private pendingBytes = 0;
  private unmeasured = '';
  // Body bytes written, counted here (pending batches are measured anyway) so sinks need not.
  private written = 0;

  constructor(source: Source<T>, options: StreamOptions<T>, sink: Sink) {
    this.source = source;
    this.options = options;
    this.sink = sink;
    this.format = (options.format ?? text()) as Format<T>;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.heartbeat = this.heartbeatMs > 0 ? this.format.heartbeat : undefined;
    this.done = new Promise<StreamResult>((resolve) => (this.settle = resolve));
  }

  start(): void {
    // Cancelled before it started (a client already gone): nothing to pull.
    if (this.closed) return;
    const externalSignal = this.options.signal;
    if (externalSignal !== undefined) {
      if (externalSignal.aborted) {
        this.cancel(externalSignal.reason, 'aborted');
        return;
      }
      this.onExternalAbort = () => this.cancel(externalSignal.reason, 'aborted');
      externalSignal.addEventListener('abort', this.onExternalAbort, { once: true });
    }
    const holdHeadersMs = this.options.holdHeadersMs ?? DEFAULT_HOLD_HEADERS_MS;
    if (Number.isFinite(holdHeadersMs)) {
      this.holdTimer = setTimeout(holdRanOut, holdHeadersMs, this);
      unref(this.holdTimer);
    }
    void this.run();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.sendTimer !== undefined) {
      clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
    }
    if (this.committed && this.heartbeat !== undefined && this.heartbeatTimer === undefined && !this.closed) this.armHeartbeat(this.heartbeatMs);
    this.wake?.();
  }

  cancel(reason: unknown, outcome: Extract<StreamOutcome, 'disconnected' | 'aborted'>): void {
    if (this.closed) return;
    this.closed = true;
    this.controller?.abort(reason);
    this.stopSource();
    if (outcome === 'aborted') {
      // Stopped from outside: never a clean success. Before the head, a real error status; after
      // it, the format's in-band abort signal, or an aborted transfer when it has none.
      this.guarded(() => {
        const why = abortReasonText(reason);
        if (!this.committed) {
          this.commitError(CORE_ERROR_CODES.aborted, { error: { code: 'aborted', message: `The stream was stopped: ${why}.` } });
          return;
        }
        this.flush(performance.now());
        if (this.format.encodeAbort !== undefined) {
          this.writeOther(this.format.encodeAbort(why));
          this.sink.end();
        } else {
          this.sink.abort(reason);
        }
      });
    }
    this.cleanup(outcome);
  }

  /** The hold ran out with nothing to send: the head goes now, so proxies and clients see bytes, then a heartbeat at once. */
  holdRanOut(): void {
    this.holdTimer = undefined;
    if (this.closed || this.committed) return;
    this.guarded(() => {
      this.commit(this.heartbeat === undefined);
      if (this.heartbeat !== undefined && !this.writeOther(this.heartbeat)) this.pause();
    });
  }

  /** The heartbeat timer fired: a heartbeat if nothing was written for `heartbeatMs`, else the timer again for the rest. */
  beat(): void {
    this.heartbeatTimer = undefined;
    const heartbeat = this.heartbeat;
    if (this.closed || heartbeat === undefined) return;
    // Only while the consumer has room: a paused stream is not idle, its consumer is full.
    // resume() arms the timer again.
    if (this.paused) return;
    const idle = performance.now() - this.lastWriteAt;
    // Restarted after each real write (lastWriteAt), so heartbeats only fill real silence.
    if (idle >= this.heartbeatMs - 1) {
      this.guarded(() => {
        if (!this.writeOther(heartbeat)) this.pause();
      });
      this.lastWriteAt = performance.now();
      if (!this.closed && !this.paused) this.armHeartbeat(this.heartbeatMs);
    } else {
      this.armHeartbeat(Math.max(1, this.heartbeatMs - idle));
    }
  }

  /** A write did not drain in time (a half-open socket, a client that stopped reading): a disconnect. */
  sendTimedOut(): void {
    this.sendTimer = undefined;
    if (this.closed || !this.paused) return;
    const reason = new DOMException(`The client did not read for ${this.options.sendTimeoutMs} ms (sendTimeoutMs).`, 'TimeoutError');
    this.cancel(reason, 'disconnected');
    try {
      this.sink.abort(reason);
    } catch {
      // The sink is already gone: the connection it would close is closed.
    }
  }

  /** Writes what this turn gathered (called once per turn from the shared flush queue). */
  flushTask(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    // guarded(), inlined: this runs for every event of every stream.
    try {
      this.flush(turnStartedAt);
    } catch (error) {
      this.failSink(error);
    }
  }

  private commit(flushNow: boolean): void {
    this.committed = true;
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const head = formatHead(this.format);
    const headers = this.options.headers === undefined ? head : { ...head, ...normalizeHeaders(this.options.headers) };
    this.sink.commit(this.options.status ?? 200, headers, flushNow);
    this.lastWriteAt = performance.now();
    if (this.heartbeat !== undefined) this.armHeartbeat(this.heartbeatMs);
  }

  private armHeartbeat(ms: number): void {
    this.heartbeatTimer = setTimeout(beat, ms, this);
    unref(this.heartbeatTimer);
  }

  /** Writes a chunk that is not a batch of items (heartbeat, error or abort signal), counting its bytes. */
  private writeOther(chunk: string | Uint8Array): boolean {
    const bytes = typeof chunk === 'string' ? utf8Length(chunk) : chunk.byteLength;
    this.written += bytes;
    return this.sink.write(chunk, bytes);
  }

  /** The sink is full: wait for `resume()`, for at most the send timeout. */
  private pause(): void {
    this.paused = true;
    const sendTimeoutMs = this.options.sendTimeoutMs ?? 0;
    if (sendTimeoutMs > 0 && this.sendTimer === undefined && !this.closed) {
      this.sendTimer = setTimeout(sendTimedOut, sendTimeoutMs, this);
      unref(this.sendTimer);
    }
  }

  /**
   * Runs sink or format code outside the pull loop (timers, error paths). If it throws, the
   * stream cannot continue cleanly: the transfer is aborted and the result says why.
   */
  private guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.failSink(error);
    }
  }

  /** A sink or format step threw: abort the transfer and end the stream as errored. */
  private failSink(error: unknown): void {
    if (!this.closed) {
      this.closed = true;
      this.controller?.abort(error);
      this.stopSource();
    }
    try {
      this.sink.abort(error);
    } catch {
      // The sink failed to abort too: it is already gone, nothing is left to release.
    }
    this.cleanup('errored', error);
  }

  private append(chunk: string | Uint8Array): void {
    if (typeof chunk === 'string') {
      this.pendingText = this.pendingText === '' ? chunk : this.pendingText + chunk;
      this.unmeasured = this.unmeasured === '' ? chunk : this.unmeasured + chunk;
      return;
    }
    if (this.pendingText !== '') {
      (this.pendingParts ??= []).push(this.pendingText);
      this.pendingText = '';
    }
    (this.pendingParts ??= []).push(chunk);
    this.pendingBytes += chunk.byteLength;
  }

  /** Whether the pending output has reached `maxBatchBytes` UTF-8 bytes, measuring only when unsure. */
  private batchFull(): boolean {
    const units = this.unmeasured.length;
    if (this.pendingBytes + units >= this.maxBatchBytes) return true;
    if (this.pendingBytes + units * 3 < this.maxBatchBytes) return false;
    this.pendingBytes += utf8Length(this.unmeasured);
    this.unmeasured = '';
    return this.pendingBytes >= this.maxBatchBytes;
  }

  /** Writes the pending output, if any; `now` is when (for the heartbeat's idle check). */
  private flush(now: number): void {
    const parts = this.pendingParts;
    if (this.pendingText === '' && parts === undefined) return;
    if (!this.committed) this.commit(false);
    // When nothing of the batch was measured yet, pendingText and unmeasured hold the same text as
    // two ropes: measure pendingText, the one the write sends, so only one copy is flattened.
    const unmeasured = parts === undefined && this.pendingBytes === 0 ? this.pendingText : this.unmeasured;
    const bytes = this.pendingBytes + (unmeasured === '' ? 0 : utf8Length(unmeasured));
    let ok: boolean;
    if (parts === undefined) {
      ok = this.sink.write(this.pendingText, bytes);
    } else if (parts.length === 1 && this.pendingText === '') {
      ok = this.sink.write(parts[0] as Uint8Array | string, bytes);
    } else {
      // Several pieces ready at once leave in one write. (Node's cork()/uncork() would do this
      // without a copy, but a corked ServerResponse can miss its 'drain' event on Node 24 and
      // stall the stream; copying at most one batch is cheap.)
      if (this.pendingText !== '') parts.push(this.pendingText);
      ok = this.sink.write(concatParts(parts), bytes);
    }
    this.written += bytes;
    this.pendingText = '';
    this.pendingParts = undefined;
    this.pendingBytes = 0;
    this.unmeasured = '';
    this.lastWriteAt = now;
    if (!ok) this.pause();
  }

  private cleanup(outcome: StreamOutcome, error?: unknown): void {
    this.closed = true;
    if (this.settled) return;
    this.settled = true;
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    if (this.heartbeatTimer !== undefined) clearTimeout(this.heartbeatTimer);
    if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
    this.holdTimer = this.heartbeatTimer = this.sendTimer = undefined;
    if (this.onExternalAbort !== undefined) this.options.signal?.removeEventListener('abort', this.onExternalAbort);
    this.wake?.();
    const result: StreamResult = { outcome, items: this.items, bytes: this.written };
    if (error !== undefined) result.error = error;
    try {
      this.sink.settled?.(result);
    } finally {
      this.settle(result);
    }
  }

  private stopSource(): void {
    const it = this.iterator;
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

  /**
   * Answers with a real HTTP error and a JSON body, when nothing has left yet (items that were
   * ready but unsent are dropped with the stream).
   */
  private commitError(status: number, body: ErrorBody): void {
    this.committed = true;
    this.pendingText = '';
    this.pendingParts = undefined;
    this.pendingBytes = 0;
    this.unmeasured = '';
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.sink.commit(status, errorResponseHeaders(normalizeHeaders(this.options.headers)), false);
    this.writeOther(JSON.stringify(body));
    this.sink.end();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.controller?.abort(error);
    this.stopSource();
    this.guarded(() => {
      let message: ReturnType<typeof toErrorResponse>;
      try {
        message = toErrorResponse(error, this.options.onError);
      } catch {
        // onError itself threw: fall back to the safe message rather than lose the response.
        message = toErrorResponse(error);
      }
      const { status, body } = message;
      if (!this.committed) {
        this.commitError(status, body);
      } else {
        this.flush(performance.now());
        if (this.format.encodeError !== undefined) {
          this.writeOther(this.format.encodeError(body.error));
          this.sink.end();
        } else {
          this.sink.abort(error);
        }
      }
      this.cleanup('errored', error);
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.guarded(() => {
      this.flush(performance.now());
      if (!this.committed) this.commit(false);
      this.closed = true;
      this.sink.end();
      this.cleanup('completed');
    });
  }

  private waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let it: PullIterator<T>;
    try {
      const source = this.source;
      let signal: AbortSignal | undefined;
      if (typeof source === 'function') signal = (this.controller = new AbortController()).signal;
      it = this.iterator = openSource(source, signal);
    } catch (error) {
      this.fail(error);
      return;
    }
    try {
      while (!this.closed) {
        if (this.paused) {
          await this.waitForRoom();
          if (this.closed) return;
        }
        let result = it.next();
        if (typeof (result as Promise<IteratorResult<T>>).then === 'function') result = await result;
        if (this.closed) return;
        if ((result as IteratorResult<T>).done) break;
        this.items++;
        this.append(this.format.encode((result as IteratorYieldResult<T>).value));
        if (this.batchFull()) {
          this.flush(performance.now());
          // Fairness: an always-ready producer (a sync generator, an async one that never waits)
          // would otherwise run its whole stream while the socket takes it, starving every other
          // request. One macrotask per full batch costs nothing next to the batch itself. Also
          // when the sink is full: a Web body's reader asks for more in a microtask, so waiting
          // for room alone would not yield either.
          await new Promise<void>(nextMacrotask);
          if (this.closed) return;
        } else if (!this.flushScheduled) {
          this.flushScheduled = true;
          if (flushQueue.push(this as Engine<unknown>) === 1) nextMacrotask(runFlushQueue);
        }
      }
    } catch (error) {
      if (this.closed && isAbortError(error)) return;
      this.fail(error);
      return;
    }
    this.finish();
  }
}

/**
 * Creates the engine that moves `source` into `sink`.
 * @param source - any source
 * @param options - stream options (validated by the caller with {@link checkStreamOptions})
 * @param sink - where bytes go
 * @returns the engine; call `start()`
 */
export function createStreamEngine<T>(source: Source<T>, options: StreamOptions<T>, sink: Sink): StreamEngine {
  return new Engine(source, options, sink);
}
