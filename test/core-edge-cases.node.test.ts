/**
 * Edge cases of the streaming core found in review: a client gone before the stream starts,
 * heartbeats while the consumer is full, header merging and validation, failures inside error
 * handling, and errors of output that was ready but had not left yet.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { createStreamEngine, type Sink } from '../src/core/stream-engine.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { text } from '../src/core/text-format.ts';
import { sse } from '../src/sse/sse-format.ts';
import { deferred, get, readBody, startServer, type TestServer } from './helpers/http.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

/** Opens a request and destroys it once the server has seen it (`seen` resolves). */
function dropEarly(url: string, seen: Promise<void>): void {
  const req = request(url, { agent: false });
  req.on('error', () => undefined);
  req.end();
  void seen.then(() => req.destroy());
}

describe('a client that leaves before the stream starts', () => {
  it('sendStream on a response that already closed aborts the source and settles as disconnected', async () => {
    const aborted = deferred<boolean>();
    const result = deferred<string>();
    const seen = deferred();
    server = await startServer((_req, res) => {
      seen.resolve();
      res.once('close', () => {
        void sendStream(res, async function* (signal: AbortSignal) {
          signal.addEventListener('abort', () => aborted.resolve(true), { once: true });
          yield 'never read';
        }).then((r) => result.resolve(r.outcome));
      });
    });
    dropEarly(server.url, seen.promise);
    expect(await result.promise).toBe('disconnected');
    expect(await aborted.promise).toBe(true);
  });

  it('writeResponse(res, await streamingResponse(…)) stops the source when the client leaves while the head is held', async () => {
    const finallyRan = deferred<boolean>();
    const seen = deferred();
    server = await startServer(async (_req, res) => {
      seen.resolve();
      const response = await streamingResponse(async function* (signal: AbortSignal) {
        try {
          // The first token comes after the client has left.
          await new Promise((resolve) => setTimeout(resolve, 150));
          yield 'late';
          await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        } finally {
          finallyRan.resolve(true);
        }
      });
      await writeResponse(res, response);
    });
    dropEarly(server.url, seen.promise);
    expect(await finallyRan.promise).toBe(true);
  });

  it('writeResponse answers 500 JSON when the body fails before its first chunk', async () => {
    server = await startServer(async (_req, res) => {
      const body = new ReadableStream<Uint8Array>({
        pull() {
          throw new Error('broken before anything');
        },
      });
      await writeResponse(res, new Response(body, { headers: { 'content-type': 'text/plain' } }));
    });
    const res = await get(server.url);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(await readBody(res))).toMatchObject({ error: { code: 'internal_error' } });
  });
});

describe('heartbeats', () => {
  it('are not written, and their timer does not spin, while the consumer is full', async () => {
    const writes: string[] = [];
    const sink: Sink = {
      commit: () => undefined,
      write: (chunk) => {
        writes.push(String(chunk));
        return false; // always full
      },
      end: () => undefined,
      abort: () => undefined,
    };
    const gate = deferred();
    const engine = createStreamEngine(
      async function* () {
        yield { data: 'first' };
        await gate.promise;
      },
      { format: sse(), heartbeatMs: 20, holdHeadersMs: 0 },
      sink,
    );
    const timers = vi.spyOn(globalThis, 'setTimeout');
    engine.start();
    await vi.waitFor(() => expect(writes.length).toBeGreaterThan(0));
    // Over the next 200 ms (10 heartbeat intervals) a spinning timer would re-arm ~200 times.
    const mark = timers.mock.calls.length;
    await new Promise<void>((resolve) => {
      const end = performance.now() + 200;
      const tick = (): void => void (performance.now() >= end ? resolve() : setImmediate(tick));
      tick();
    });
    expect(timers.mock.calls.length - mark).toBeLessThan(5);
    expect(writes.filter((w) => w === ': ping\n\n').length).toBeLessThanOrEqual(1);
    engine.cancel(new Error('done'), 'disconnected');
    gate.resolve();
  });
});

describe('headers and options', () => {
  it('lets a caller’s header replace the format’s, whatever its case', async () => {
    const response = await streamingResponse(['a,b\n'], { headers: { 'Content-Type': 'text/csv', 'Cache-Control': 'private' } });
    expect(response.headers.get('content-type')).toBe('text/csv');
    expect(response.headers.get('cache-control')).toBe('private');
    server = await startServer((_req, res) => void sendStream(res, ['a,b\n'], { headers: { 'Content-Type': 'text/csv' } }));
    const res = await get(server.url);
    expect(res.rawHeaders.filter((h) => h.toLowerCase() === 'content-type')).toHaveLength(1);
    expect(res.headers['content-type']).toBe('text/csv');
  });

  it('rejects at the call a header value with a line break or outside Latin-1, and a status without a body', () => {
    expect(() => streamingResponse([''], { headers: { 'x-a': 'a\r\nb' } })).toThrow(TypeError);
    expect(() => streamingResponse([''], { headers: { 'content-disposition': 'attachment; filename="报告.pdf"' } })).toThrow(/RFC 5987/);
    expect(() => streamingResponse([''], { status: 204 })).toThrow(RangeError);
    expect(() => streamingResponse([''], { heartbeatMs: 2 ** 31 })).toThrow(RangeError);
    expect(() => sse({ errorEvent: 'a\nb' })).toThrow(/no CR, LF or NUL/);
  });
});

describe('errors inside error handling', () => {
  it('still answers 500 with the safe message when onError throws', async () => {
    // eslint-disable-next-line require-yield -- a producer that fails before its first item
    const source = async function* () {
      await Promise.resolve();
      throw new Error('first failure');
    };
    const response = await streamingResponse(source, {
      onError: () => {
        throw new Error('second failure');
      },
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'internal_error', message: 'The stream failed because of an internal error.' } });
  });

  it('commits once the source yielded an item, even when it fails before any byte left: 200, the item, then the error', async () => {
    const source = function* () {
      yield 'ready but unsent';
      throw new Error('then failed at once');
    };
    const response = await streamingResponse(source, { format: text() });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('ready but unsent');
    // text() has no in-band error signal: the body errors (a truncated download, never a clean end).
    await expect(reader.read()).rejects.toThrow();
  });
});
