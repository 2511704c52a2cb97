/**
 * The Node path: any source straight onto an `http.ServerResponse` (Node's `http`, Express,
 * Fastify's `reply.raw`, Next.js pages API), without Web Streams in between.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { assertSource } from '../open-source.ts';
import { abortTransfer } from './abort-transfer.ts';
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
  // 'drain' is listened to only once a write finds the response full (most slow streams never do).
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

function onSocketDrain(this: Socket): void {
  const res = (this as HttpSocket)._httpMessage;
  if (res !== null && res !== undefined) sinks.get(res)?.engine?.resume();
}

function onClose(this: ServerResponse): void {
  if (!this.writableFinished) sinks.get(this)?.engine?.cancel(new DOMException('The client disconnected.', 'AbortError'), 'disconnected');
}

const RESPONSE_DRAIN = 1;
const SOCKET_DRAIN = 2;

/** The engine's sink on a Node response (a class: one object per stream, no closure per method). */
class ResponseSink implements Sink {
  private readonly res: ServerResponse;
  engine: StreamEngine | undefined;
  // Which drain listeners are on: onDrain on the response (a res.write() found it full),
  // onSocketDrain on the socket (a direct write found it full).
  private drains = 0;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  commit(status: number, headers: Record<string, string>, flushNow: boolean): void {
    const res = this.res;
    res.writeHead(status, headers);
    flattenHead(res as HttpResponse);
    if (flushNow) res.flushHeaders();
  }

  write(chunk: string | Uint8Array, bytes: number): boolean {
    const res = this.res;
    if (res.destroyed) return false;
    const socket = res.socket;
    if (socket === null || socket.writableCorked) return this.checked(res.write(chunk));
    if (typeof chunk === 'string' && canWriteDirect(res as HttpResponse, socket as HttpSocket)) {
      // The chunk, framed as a chunk of the chunked body by hand, in one socket write: what
      // res.write() would send as four buffers gathered into a writev. Slow streams write one
      // small event at a time, and this is most of what each costs in JavaScript.
      const ok = socket.write(`${bytes.toString(16)}\r\n${chunk}\r\n`);
      // Bypassing res.write(), the response does not know it must emit 'drain': listen to the socket.
      if (!ok && (this.drains & SOCKET_DRAIN) === 0) {
        this.drains |= SOCKET_DRAIN;
        socket.on('drain', onSocketDrain);
      }
      return ok;
    }
    // A chunk of a chunked body is three writes (size line, data, CRLF); res.write() corks the
    // socket and uncorks it in a nextTick to send them in one writev. Corking around the call
    // sends them at once instead: one fewer tick per event, the same single writev.
    socket.cork();
    try {
      return this.checked(res.write(chunk));
    } finally {
      socket.uncork();
    }
  }

  /** `res.write()`'s answer; when it is full, the response's 'drain' is listened to from now on. */
  private checked(ok: boolean): boolean {
    if (!ok && (this.drains & RESPONSE_DRAIN) === 0) {
      this.drains |= RESPONSE_DRAIN;
      this.res.on('drain', onDrain);
    }
    return ok;
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }

  abort(): void {
    // A response without a body (HEAD) has nothing to cut: its head goes out as it is (destroying
    // the socket would lose it while it is still corked, and the client would get no answer).
    if (this.res.req?.method === 'HEAD') {
      this.res.end();
      return;
    }
    // Destroying the socket leaves the chunked body without its last chunk (a close-delimited
    // HTTP/1.0 body gets a reset): clients see a failed transfer, never a truncated success.
    abortTransfer(this.res);
  }

  settled(): void {
    const res = this.res;
    if ((this.drains & RESPONSE_DRAIN) !== 0) res.off('drain', onDrain);
    res.off('close', onClose);
    if ((this.drains & SOCKET_DRAIN) !== 0) res.socket?.off('drain', onSocketDrain);
    sinks.delete(res);
  }
}

/** The parts of Node's `ServerResponse` and its socket that decide whether a chunk may bypass `res.write()`. */
interface HttpResponse extends ServerResponse {
  readonly _header?: string | null;
  readonly _headerSent?: boolean;
  readonly _hasBody?: boolean;
  readonly outputData?: readonly unknown[];
}

interface HttpSocket extends Socket {
  readonly _httpMessage?: ServerResponse | null;
}

/**
 * Whether a chunk can go straight to the socket, framed by hand: Node's own HTTP/1.1 response
 * with a chunked body whose head is on the wire, which owns the socket (not a pipelined response
 * waiting its turn), with nothing of its own buffered and not finished. Anything else (HTTP/1.0,
 * a HEAD, another runtime's `node:http`, a response someone corked) goes through `res.write()`.
 */
function canWriteDirect(res: HttpResponse, socket: HttpSocket): boolean {
  return (
    socket._httpMessage === res &&
    res._headerSent === true &&
    res.chunkedEncoding === true &&
    res._hasBody === true &&
    res.outputData?.length === 0 &&
    !res.writableEnded &&
    res.writableCorked === 0 &&
    socket.writable
  );
}

/**
 * Node builds the response head by concatenating each header's name, value and separators (V8
 * keeps such a string as a tree of its pieces, some thirty small objects) and keeps it on the
 * response for the response's life. Reading one character makes V8 flatten the string in place,
 * into one contiguous string: the same text, a fraction of the memory per open stream. Nothing of
 * Node's state changes.
 */
function flattenHead(res: HttpResponse): void {
  const head = res._header;
  if (typeof head === 'string' && head.length > 0) head.charCodeAt(0);
}
