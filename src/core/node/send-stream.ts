/**
 * The Node fast path: any source straight onto an `http.ServerResponse` (Node's `http`, Express,
 * Fastify's `reply.raw`, Next.js pages API), without Web Streams in between.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { assertSource } from '../open-source.ts';
import { checkStreamOptions, createStreamEngine, type Sink, type StreamEngine } from '../stream-engine.ts';
import type { Source, StreamOptions, StreamResult } from '../types.ts';

/**
 * Streams `source` onto a Node response. Items are pulled only while `res.write()` has room; a
 * write that waits for `drain` also wakes on `close`, so a slow client that goes away never hangs
 * the producer. When the client disconnects, the source's signal is aborted and its iterator's
 * `return()` is called, so `finally` blocks run and upstream requests are cancelled.
 *
 * @param res - the response; its head must not have been sent
 * @param source - any iterable, async iterable, generator, `ReadableStream`, Node `Readable`, or `(signal) => source`
 * @param options - format, headers, heartbeat, …
 * @returns what happened, once the stream is over (never rejects)
 * @throws TypeError when `source` is not a source or the head was already sent
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   void sendStream(res, async function* (signal) {
 *     for (let i = 0; i < 10; i++) yield `数字: ${i}\n`;
 *   });
 * });
 * ```
 */
export function sendStream<T>(res: ServerResponse, source: Source<T>, options: StreamOptions<T> = {}): Promise<StreamResult> {
  assertSource(source);
  checkStreamOptions(options);
  if (res.headersSent) {
    throw new TypeError('Expected a response whose head was not sent yet; sendStream() sends the status and headers itself.');
  }
  const sink = new ResponseSink(res);
  const engine = (sink.engine = createStreamEngine(source, options, sink));
  sinks.set(res, sink);
  res.on('drain', onDrain);
  res.on('close', onClose);
  engine.start();
  // The client may have gone before we were called ('close' already fired): stop at once
  // rather than wait for a drain that will never come.
  if (res.destroyed) onClose.call(res);
  return engine.done;
}

// The listeners are shared by every response (EventEmitter calls them with the response as
// `this`), so a connection costs a map entry instead of two closures and their context.
const sinks = new WeakMap<ServerResponse, ResponseSink>();

function onDrain(this: ServerResponse): void {
  sinks.get(this)?.engine?.resume();
}

function onClose(this: ServerResponse): void {
  if (!this.writableFinished) sinks.get(this)?.engine?.cancel(new DOMException('The client disconnected.', 'AbortError'), 'disconnected');
}

/** The engine's sink on a Node response (a class: one object per stream, no closure per method). */
class ResponseSink implements Sink {
  private readonly res: ServerResponse;
  engine: StreamEngine | undefined;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  commit(status: number, headers: Record<string, string>, flushNow: boolean): void {
    this.res.writeHead(status, headers);
    if (flushNow) this.res.flushHeaders();
  }

  write(chunk: string | Uint8Array): boolean {
    const res = this.res;
    if (res.destroyed) return false;
    const socket = res.socket;
    if (socket === null || socket.writableCorked) return res.write(chunk);
    // A chunk of a chunked body is three writes (size line, data, CRLF); res.write() corks the
    // socket and uncorks it in a nextTick to send them in one writev. Corking around the call
    // sends them at once instead: one fewer tick per event, the same single writev.
    socket.cork();
    try {
      return res.write(chunk);
    } finally {
      socket.uncork();
    }
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }

  abort(): void {
    // Destroying the socket leaves the chunked body without its last chunk: clients see a failed
    // transfer, never a truncated success. No error argument: ServerResponse would emit it.
    this.res.destroy();
  }

  settled(): void {
    const res = this.res;
    res.off('drain', onDrain);
    res.off('close', onClose);
    sinks.delete(res);
  }
}
