/**
 * The pull engine shared by the Web and Node paths: pulls items only while the sink has room,
 * gathers items that are ready at once into one write, holds the head until the first item,
 * sends heartbeats while idle, and turns errors into statuses or in-band error signals.
 *
 * @module
 */
import { abortReasonText, CORE_ERROR_CODES, errorResponseHeaders, isAbortError, toErrorResponse, type ErrorBody } from './errors.ts';
import { linkDeadline, restartDeadline, unlinkDeadline, type DeadlineEntry, type DeadlineList } from './deadline-wheel.ts';
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
  /**
   * Ends the body as a failed transfer (no clean end of the chunked body). `afterWrites` is true
   * when this is the stream's own failure signal (the source failed or was stopped, and the format
   * has no in-band signal): the chunks already written must reach the consumer first, as a close
   * would let them (a Web body's `error()` discards what is still queued). False or absent when
   * the transfer itself failed (a sink or format step threw, the consumer stopped reading): at once.
   */
  abort(error: unknown, afterWrites?: boolean): void;
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
/** @internal (the Web path's body uses it as its high-water mark; not re-exported by the package) */
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024;

/**
 * A macrotask boundary: items that arrive before it are "ready at once" and leave in one write.
 * setImmediate (Node, Bun) runs right after pending I/O; elsewhere setTimeout(0) is the closest.
 * @internal (the Web path's sink uses it too; not re-exported by the package)
 */
export const nextMacrotask: (callback: () => void) => unknown =
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

// The engine's state flags, in one small integer (a field each would cost 8 bytes per stream).
const COMMITTED = 1;
const CLOSED = 2;
const SETTLED = 4;
const PAUSED = 8;
const FLUSH_SCHEDULED = 16;
// Which deadline the stream waits for in the shared wheel (deadline-wheel.ts), if any: the held
// head before the head is sent, the heartbeat while the head is sent and the consumer has room,
// the send timeout while the consumer is full. At most one at a time.
const WAIT_HOLD = 32;
const WAIT_HEARTBEAT = 64;
const WAIT_SEND = 128;
const WAITS = WAIT_HOLD | WAIT_HEARTBEAT | WAIT_SEND;

const DEFAULT_FORMAT = text() as Format<unknown>;

/**
 * The engine of one stream. A class, so that a connection costs one object and its state, not a
 * closure per step: slow streams are many, and each holds its engine for its whole life. For the
 * same reason its state is kept small: flags in one field, settings read from the options when
 * needed, no timer of its own (its deadlines are links in the shared wheel), the source dropped
 * once opened.
 */
class Engine<T> implements StreamEngine, DeadlineEntry {
  readonly done: Promise<StreamResult>;
  private settle!: (result: StreamResult) => void;
  // Until run() opens it.
  private source: Source<T> | undefined;
  private readonly options: StreamOptions<T>;
  private readonly sink: Sink;
  // Only a function source gets a signal: for the others nobody could observe it.
  private controller: AbortController | undefined;
  private iterator: PullIterator<T> | undefined;
  private flags = 0;
  private items = 0;
  // Body bytes written, counted here (pending batches are measured anyway) so sinks need not.
  private written = 0;
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

  // The stream's place in the deadline wheel (see WAIT_*). While it waits for its heartbeat,
  // deadlineSince is when it last wrote: each write restarts the wait.
  deadlineList: DeadlineList | undefined = undefined;
  deadlinePrev: DeadlineEntry | DeadlineList | undefined = undefined;
  deadlineNext: DeadlineEntry | DeadlineList | undefined = undefined;
  deadlineSince = 0;

  constructor(source: Source<T>, options: StreamOptions<T>, sink: Sink) {
    this.source = source;
    this.options = options;
    this.sink = sink;
    this.done = new Promise<StreamResult>((resolve) => (this.settle = resolve));
  }

  private get format(): Format<T> {
    return (this.options.format ?? DEFAULT_FORMAT) as Format<T>;
  }

  private get heartbeatMs(): number {
    return this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** The chunk sent while idle, or undefined when this stream sends none. */
  private get heartbeat(): string | undefined {
    return this.heartbeatMs > 0 ? this.format.heartbeat : undefined;
  }

  private get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }

  private get committed(): boolean {
    return (this.flags & COMMITTED) !== 0;
  }

  private get paused(): boolean {
    return (this.flags & PAUSED) !== 0;
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
      // The engine is the listener (handleEvent): no closure per stream.
      externalSignal.addEventListener('abort', this, { once: true });
    }
    const holdHeadersMs = this.options.holdHeadersMs ?? DEFAULT_HOLD_HEADERS_MS;
    if (Number.isFinite(holdHeadersMs)) this.waitFor(WAIT_HOLD, holdHeadersMs);
    void this.run();
  }

  /** The external `signal` aborted (the engine listens to it as an `EventListener` object). */
  handleEvent(): void {
    this.cancel(this.options.signal?.reason, 'aborted');
  }

  resume(): void {
    if (!this.paused) return;
    this.flags &= ~PAUSED;
    if ((this.flags & WAIT_SEND) !== 0) this.stopWaiting();
    // The consumer took what it held: idle from now.
    if (this.committed && !this.closed && this.heartbeat !== undefined) this.waitFor(WAIT_HEARTBEAT, this.heartbeatMs);
    this.wake?.();
  }

  cancel(reason: unknown, outcome: Extract<StreamOutcome, 'disconnected' | 'aborted'>): void {
    if (this.closed) return;
    this.flags |= CLOSED;
    this.controller?.abort(reason);
    this.stopSource();
    if (outcome === 'aborted') {
      // Stopped from outside: never a clean success. Before the first item, a real error status;
      // once an item is ready (sent or not), the items, then the format's in-band abort signal,
      // or an aborted transfer when it has none.
      this.guarded(() => {
        const why = abortReasonText(reason);
        this.endEarly(CORE_ERROR_CODES.aborted, { error: { code: 'aborted', message: `The stream was stopped: ${why}.` } }, reason, why);
      });
    }
    this.cleanup(outcome);
  }

  /** The wheel says this stream's deadline is due (it is already out of the wheel). */
  deadlineDue(): void {
    const wait = this.flags & WAITS;
    this.flags &= ~WAITS;
    if (this.closed) return;
    if (wait === WAIT_HEARTBEAT) this.beat();
    else if (wait === WAIT_HOLD) this.holdRanOut();
    else if (wait === WAIT_SEND) this.sendTimedOut();
  }

  /** The hold ran out with nothing to send: the head goes now, so proxies and clients see bytes, then a heartbeat at once. */
  private holdRanOut(): void {
    if (this.committed) return;
    this.guarded(() => {
      const heartbeat = this.heartbeat;
      this.commit(heartbeat === undefined);
      if (heartbeat !== undefined && !this.writeOther(heartbeat)) this.pause();
    });
  }

  /**
   * Nothing was written for `heartbeatMs` (each write restarts the wait, and the wait stops while
   * the consumer is full: a paused stream is not idle, its consumer is): a heartbeat, and the
   * wait again.
   */
  private beat(): void {
    const heartbeat = this.heartbeat as string;
    this.guarded(() => {
      if (!this.writeOther(heartbeat)) this.pause();
    });
    if (!this.closed && !this.paused) this.waitFor(WAIT_HEARTBEAT, this.heartbeatMs);
  }

  /** A write did not drain in time (a half-open socket, a client that stopped reading): a disconnect. */
  private sendTimedOut(): void {
    if (!this.paused) return;
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
    this.flags &= ~FLUSH_SCHEDULED;
    if (this.closed) return;
    // guarded(), inlined: this runs for every event of every stream.
    try {
      this.flush(turnStartedAt);
    } catch (error) {
      this.failSink(error);
    }
  }

  /** Waits for `wait` (one of WAIT_*), `ms` from now, instead of any deadline it waited for. */
  private waitFor(wait: number, ms: number): void {
    this.flags = (this.flags & ~WAITS) | wait;
    linkDeadline(this, ms, performance.now());
  }

  private stopWaiting(): void {
    this.flags &= ~WAITS;
    unlinkDeadline(this);
  }

  private commit(flushNow: boolean): void {
    this.flags |= COMMITTED;
    const options = this.options;
    const head = formatHead(this.format);
    const headers = options.headers === undefined ? head : { ...head, ...normalizeHeaders(options.headers) };
    this.sink.commit(options.status ?? 200, headers, flushNow);
    // The hold ends; the heartbeat's wait starts.
    if (this.heartbeat !== undefined) this.waitFor(WAIT_HEARTBEAT, this.heartbeatMs);
    else this.stopWaiting();
  }

  /** Writes a chunk that is not a batch of items (heartbeat, error or abort signal), counting its bytes. */
  private writeOther(chunk: string | Uint8Array): boolean {
    const bytes = typeof chunk === 'string' ? utf8Length(chunk) : chunk.byteLength;
    this.written += bytes;
    return this.sink.write(chunk, bytes);
  }

  /** The sink is full: wait for `resume()`, for at most the send timeout (no heartbeat meanwhile). */
  private pause(): void {
    this.flags |= PAUSED;
    if ((this.flags & WAIT_SEND) !== 0 || this.closed) return;
    const sendTimeoutMs = this.options.sendTimeoutMs ?? 0;
    if (sendTimeoutMs > 0) this.waitFor(WAIT_SEND, sendTimeoutMs);
    else this.stopWaiting();
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
      this.flags |= CLOSED;
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
    const maxBatchBytes = this.options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    const units = this.unmeasured.length;
    if (this.pendingBytes + units >= maxBatchBytes) return true;
    if (this.pendingBytes + units * 3 < maxBatchBytes) return false;
    this.pendingBytes += utf8Length(this.unmeasured);
    this.unmeasured = '';
    return this.pendingBytes >= maxBatchBytes;
  }

  /** Writes the pending output, if any; `now` is when (the heartbeat's wait restarts from it). */
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
    // A real write: the heartbeat's wait starts again (the stream moves to its list's tail). A
    // flush turn's writes all count from the turn's start; a wait that started later in the turn
    // (the head sent with this write) is kept. Waits out of order by a turn's length at most
    // delay a heartbeat by as much.
    if ((this.flags & WAIT_HEARTBEAT) !== 0 && now >= this.deadlineSince) restartDeadline(this, now);
    if (!ok) this.pause();
  }

  private cleanup(outcome: StreamOutcome, error?: unknown): void {
    this.flags |= CLOSED;
    if ((this.flags & SETTLED) !== 0) return;
    this.flags |= SETTLED;
    this.stopWaiting();
    this.options.signal?.removeEventListener('abort', this);
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
   * Answers with a real HTTP error and a JSON body, when no item is ready yet: neither sent nor
   * waiting for the flush turn (once one is, the response is committed with it, whatever the
   * flush timing).
   */
  private commitError(status: number, body: ErrorBody): void {
    this.flags |= COMMITTED;
    this.stopWaiting();
    this.sink.commit(status, errorResponseHeaders(normalizeHeaders(this.options.headers)), false);
    this.writeOther(JSON.stringify(body));
    this.sink.end();
  }

  /**
   * Ends a stream that failed (`abortReason` undefined) or was stopped from outside. The items
   * ready go out first (sent, or waiting for this turn's flush, which writes the head with them):
   * the same output whatever the flush timing. If none was, the failure is still a real status
   * with `body`; else the format's in-band error or abort signal follows them, or the transfer is
   * aborted when the format has none.
   */
  private endEarly(status: number, body: ErrorBody, error: unknown, abortReason: string | undefined): void {
    this.flush(performance.now());
    if (!this.committed) {
      this.commitError(status, body);
      return;
    }
    const format = this.format;
    const signal = abortReason === undefined ? format.encodeError?.(body.error) : format.encodeAbort?.(abortReason);
    if (signal === undefined) {
      this.sink.abort(error, true);
      return;
    }
    this.writeOther(signal);
    this.sink.end();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.flags |= CLOSED;
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
      this.endEarly(message.status, message.body, error, undefined);
      this.cleanup('errored', error);
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.guarded(() => {
      this.flush(performance.now());
      if (!this.committed) this.commit(false);
      this.flags |= CLOSED;
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
      const source = this.source as Source<T>;
      // Not needed once open: a function source's closure goes with it.
      this.source = undefined;
      let signal: AbortSignal | undefined;
      if (typeof source === 'function') signal = (this.controller = new AbortController()).signal;
      it = this.iterator = openSource(source, signal);
    } catch (error) {
      this.fail(error);
      return;
    }
    const format = this.format;
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
        this.append(format.encode((result as IteratorYieldResult<T>).value));
        if (this.batchFull()) {
          this.flush(performance.now());
          // Fairness: an always-ready producer (a sync generator, an async one that never waits)
          // would otherwise run its whole stream while the socket takes it, starving every other
          // request. One macrotask per full batch costs nothing next to the batch itself. Also
          // when the sink is full: a Web body's reader asks for more in a microtask, so waiting
          // for room alone would not yield either.
          await new Promise<void>(nextMacrotask);
          if (this.closed) return;
        } else if ((this.flags & FLUSH_SCHEDULED) === 0) {
          this.flags |= FLUSH_SCHEDULED;
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
