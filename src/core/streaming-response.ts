/**
 * The Web path: any source to a Web `Response` (Hono, Next.js route handlers, Bun, Deno, edge).
 *
 * @module
 */
import { CORE_ERROR_CODES, errorResponseHeaders, toErrorResponse } from './errors.ts';
import { assertSource } from './open-source.ts';
import { checkStreamOptions, createStreamEngine, DEFAULT_MAX_BATCH_BYTES, nextMacrotask, type Sink, type StreamEngine } from './stream-engine.ts';
import type { Source, StreamOptions, StreamResult } from './types.ts';

/** Options of {@link streamingResponse}. */
export interface StreamingResponseOptions<T> extends StreamOptions<T> {
  /**
   * Called once when the stream is over, however it ended. If it throws (or returns a promise
   * that rejects), the error goes to `onError`, or to `console.error` without one; it never
   * becomes an unhandled rejection.
   */
  onFinish?: (result: StreamResult) => void | PromiseLike<void>;
  /**
   * The request this response answers (or anything with its `signal`). When its signal aborts
   * (the runtime's sign that the client left) the stream stops at once as a disconnect: the
   * source's signal aborts and its iterator's `return()` runs, also while the head is held, when
   * nobody could cancel the body yet. The promise then settles with a 499 nobody reads.
   * Unlike `signal`, which stops a stream on purpose, this is the client's doing.
   */
  request?: { readonly signal: AbortSignal };
}

/**
 * Marks a response made here whose head must reach the client at once, with no body byte to
 * carry it (the hold ran out on a format without heartbeats): `writeResponse` then flushes it.
 * A registry symbol, so that two installed copies of sluice understand each other.
 */
export const FLUSH_HEAD = Symbol.for('sluice.flushHead');

const disconnected = (): DOMException => new DOMException('The client disconnected.', 'AbortError');

/** The response of a stream that ended before it sent its head. */
function unsentResponse(result: StreamResult, callerHeaders: Readonly<Record<string, string>> | undefined): Response {
  const { status, body } =
    result.outcome === 'disconnected'
      ? { status: CORE_ERROR_CODES.aborted, body: { error: { code: 'aborted', message: 'The client disconnected before the stream started.' } } }
      : toErrorResponse(result.error);
  // Headers lower-cases the caller's names, as errorResponseHeaders expects.
  const headers = errorResponseHeaders(Object.fromEntries(new Headers(callerHeaders)));
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * How long, at most, the stream's own failure waits for the consumer to read the chunks written
 * before it (see `abort` below): a consumer that stopped reading would otherwise hold the body, and
 * its connection, open for good.
 */
const HOLD_FAILURE_MS = 1000;

/** Reports an error of a user callback that has no caller to reach. */
function reportCallbackError(error: unknown, onError: ((error: unknown) => unknown) | undefined): void {
  try {
    if (onError !== undefined) {
      onError(error);
      return;
    }
  } catch (secondError) {
    console.error('sluice: onError threw while reporting an onFinish error:', secondError);
  }
  console.error('sluice: onFinish threw:', error);
}

/**
 * Streams `source` as a Web `Response`. The promise settles when the first item is ready (status
 * 200), when the source fails before it (a real error status with a JSON body), or after
 * `holdHeadersMs`. Backpressure comes from the body's reader: items are pulled only while it has room.
 * Cancelling the body (client gone) aborts the source's signal and calls its iterator's `return()`.
 *
 * @param source - any iterable, async iterable, generator, `ReadableStream`, or `(signal) => source`
 * @param options - format, headers, heartbeat, …
 * @returns the response
 * @example
 * ```ts
 * app.get('/numbers', () =>
 *   streamingResponse(async function* () {
 *     for (let i = 0; i < 10; i++) yield `数字: ${i}\n`;
 *   }),
 * );
 * ```
 */
export function streamingResponse<T>(source: Source<T>, options: StreamingResponseOptions<T> = {}): Promise<Response> {
  assertSource(source);
  checkStreamOptions(options);
  const encoder = new TextEncoder();
  return new Promise<Response>((resolve) => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    /** Set once the body is closed, errored or cancelled: then it is never closed or errored again. */
    let bodyOver = false;
    const highWaterMark = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    const clientSignal = options.request?.signal;
    /** The stream's own failure, held until the reader has taken the chunks written before it. */
    let failure: { readonly error: unknown; readonly timer: ReturnType<typeof setTimeout> } | undefined;
    const failNow = (): void => {
      if (failure === undefined) return;
      const { error, timer } = failure;
      failure = undefined;
      clearTimeout(timer);
      clientSignal?.removeEventListener('abort', failNow);
      controller.error(error);
    };
    // `error()` discards what is still queued: once the queue is empty, and one macrotask later, so
    // that a consumer that writes the last chunk and drops its connection on the error at once
    // does not lose that chunk (Node holds a response's writes until the next tick; `writeResponse`
    // waits for them itself, a server that reads the body differently may not).
    const failWhenDrained = (): void => {
      if (controller.desiredSize === highWaterMark) nextMacrotask(failNow);
    };
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        // Called after each read: with a failure held, it checks whether the queue is empty.
        pull: () => (failure === undefined ? engine.resume() : failWhenDrained()),
        cancel: (reason) => {
          // A cancelled body is closed: nothing may close or error it again (a request signal
          // aborting in the same tick would otherwise throw from its listener, uncaught).
          bodyOver = true;
          engine.cancel(reason ?? disconnected(), 'disconnected');
        },
      },
      { highWaterMark, size: (chunk) => chunk.byteLength },
    );
    let resolved = false;
    const sink: Sink = {
      commit(status, headers, flushNow) {
        const response = new Response(body, { status, headers });
        if (flushNow) (response as Response & { [FLUSH_HEAD]?: true })[FLUSH_HEAD] = true;
        resolve(response);
        resolved = true;
      },
      write(chunk) {
        controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
        return (controller.desiredSize ?? 0) > 0;
      },
      end() {
        bodyOver = true;
        controller.close();
      },
      abort(error, afterWrites) {
        bodyOver = true;
        if (afterWrites !== true) {
          controller.error(error);
          return;
        }
        // The chunks written before it go first; but not for longer than HOLD_FAILURE_MS, nor once
        // the client is gone (the engine has settled: nothing else would end the body).
        const timer = setTimeout(failNow, HOLD_FAILURE_MS);
        (timer as { unref?: () => void }).unref?.();
        failure = { error, timer };
        clientSignal?.addEventListener('abort', failNow, { once: true });
        failWhenDrained();
      },
    };
    const engine: StreamEngine = createStreamEngine(source, options, sink);
    // Every exit settles the promise: a stream that ends without a head (a sink step that threw
    // before the head, the client gone before it) still answers, with an error response.
    void engine.done.then((result) => {
      if (!resolved) resolve(unsentResponse(result, options.headers));
    });
    const onFinish = options.onFinish;
    if (onFinish !== undefined) {
      void engine.done.then(onFinish).then(undefined, (error: unknown) => reportCallbackError(error, options.onError));
    }
    if (clientSignal !== undefined) {
      const onClientGone = (): void => {
        const reason: unknown = clientSignal.reason ?? disconnected();
        engine.cancel(reason, 'disconnected');
        // Whoever reads the body (if anyone still does) learns it will get no more. Closed, not
        // errored: the client it was for is gone, so there is nobody to tell of a failure, and an
        // errored body makes servers log a stack for every ordinary disconnect (@hono/node-server
        // prints the reason of each one).
        if (!bodyOver) {
          bodyOver = true;
          controller.close();
        }
      };
      clientSignal.addEventListener('abort', onClientGone, { once: true });
      void engine.done.then(() => clientSignal.removeEventListener('abort', onClientGone));
      if (clientSignal.aborted) onClientGone();
    }
    engine.start();
  });
}
