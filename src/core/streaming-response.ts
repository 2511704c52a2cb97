/**
 * The Web path: any source to a Web `Response` (Hono, Next.js route handlers, Bun, Deno, edge).
 *
 * @module
 */
import { CORE_ERROR_CODES, errorResponseHeaders, toErrorResponse } from './errors.ts';
import { assertSource } from './open-source.ts';
import { checkStreamOptions, createStreamEngine, type Sink, type StreamEngine } from './stream-engine.ts';
import type { Source, StreamOptions, StreamResult } from './types.ts';

/** Options of {@link streamingResponse}. */
export interface StreamingResponseOptions<T> extends StreamOptions<T> {
  /**
   * Called once when the stream is over, however it ended. If it throws (or returns a promise
   * that rejects), the error goes to `onError`, or to `console.error` without one; it never
   * becomes an unhandled rejection.
   */
  onFinish?: (result: StreamResult) => void | PromiseLike<void>;
}

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
    let bytes = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        pull: () => engine.resume(),
        cancel: (reason) => engine.cancel(reason ?? new DOMException('The client disconnected.', 'AbortError'), 'disconnected'),
      },
      { highWaterMark: options.maxBatchBytes ?? 16 * 1024, size: (chunk) => chunk.byteLength },
    );
    let resolved = false;
    const sink: Sink = {
      commit(status, headers) {
        resolve(new Response(body, { status, headers }));
        resolved = true;
      },
      write(chunk) {
        const data = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
        bytes += data.byteLength;
        controller.enqueue(data);
        return (controller.desiredSize ?? 0) > 0;
      },
      end() {
        controller.close();
      },
      abort(error) {
        controller.error(error);
      },
      get bytes() {
        return bytes;
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
    engine.start();
  });
}
