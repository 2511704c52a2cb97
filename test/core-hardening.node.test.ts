/**
 * Hardening of the streaming core: a stream stopped from outside is never a clean success, a
 * failing `onFinish` never crashes the process, any error status settles the response, the
 * caller's headers survive an error response, and batches are measured in UTF-8 bytes.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../src/core/errors.ts';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { createStreamEngine, type Sink } from '../src/core/stream-engine.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { text } from '../src/core/text-format.ts';
import type { Format, Source, StreamOptions, StreamResult } from '../src/core/types.ts';
import { deferred, firstChunk, get, readBody, startServer, type TestServer, within } from './helpers/http.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

/** A line format with an in-band abort signal, as the agent codecs have. */
const withAbort: Format<string> = {
  contentType: 'text/plain; charset=utf-8',
  encode: (item) => item,
  encodeAbort: (reason) => `[aborted: ${reason}]\n`,
};

/** Serves one stream per request on the Node or the Web path; resolves each stream's result. */
const paths = {
  node: (source: () => Source<string>, options: () => StreamOptions<string>, results: StreamResult[]) =>
    startServer((_req, res) => {
      void sendStream(res, source(), options()).then((result) => results.push(result));
    }),
  web: (source: () => Source<string>, options: () => StreamOptions<string>, results: StreamResult[]) =>
    startServer(async (_req, res) => {
      await writeResponse(res, await streamingResponse(source(), { ...options(), onFinish: (result) => void results.push(result) }));
    }),
};

/** A producer that yields one line, then waits until it is stopped; `finally` is recorded. */
function oneThenWait(finallyRan: { resolve: (value: boolean) => void }): Source<string> {
  return async function* (signal: AbortSignal) {
    try {
      yield 'first\n';
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    } finally {
      finallyRan.resolve(true);
    }
  };
}

describe.each(Object.entries(paths))('a stream stopped through options.signal (%s path)', (_path, serve) => {
  it('after the head, ends with the format’s encodeAbort signal and a clean close; outcome aborted', async () => {
    const stop = new AbortController();
    const finallyRan = deferred<boolean>();
    const results: StreamResult[] = [];
    server = await serve(() => oneThenWait(finallyRan), () => ({ format: withAbort, signal: stop.signal }), results);
    const res = await get(server.url);
    expect(res.statusCode).toBe(200);
    const first = await firstChunk(res);
    expect(first).toBe('first\n');
    const rest = readBody(res);
    stop.abort(new Error('stop button'));
    expect(await rest).toBe('[aborted: stop button]\n');
    expect(await finallyRan.promise).toBe(true);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]?.outcome).toBe('aborted');
  });

  it('after the head, a format without encodeAbort ends as an aborted transfer, never a clean end', async () => {
    const stop = new AbortController();
    const finallyRan = deferred<boolean>();
    const results: StreamResult[] = [];
    server = await serve(() => oneThenWait(finallyRan), () => ({ format: text() as Format<string>, signal: stop.signal }), results);
    const res = await get(server.url);
    await firstChunk(res);
    const rest = readBody(res);
    stop.abort('shutdown');
    await expect(rest).rejects.toThrow();
    expect(await finallyRan.promise).toBe(true);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]?.outcome).toBe('aborted');
  });

  it('before the head, answers 499 with an "aborted" JSON error instead of an empty 200', async () => {
    const stop = new AbortController();
    const finallyRan = deferred<boolean>();
    const started = deferred();
    const results: StreamResult[] = [];
    server = await serve(
      () =>
        // eslint-disable-next-line require-yield -- a producer stopped before its first item
        async function* (signal: AbortSignal) {
          try {
            started.resolve();
            await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
          } finally {
            finallyRan.resolve(true);
          }
        },
      () => ({ format: withAbort, signal: stop.signal }),
      results,
    );
    const response = get(server.url);
    await started.promise;
    stop.abort('user');
    const res = await response;
    expect(res.statusCode).toBe(499);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(await readBody(res))).toEqual({ error: { code: 'aborted', message: 'The stream was stopped: user.' } });
    expect(await finallyRan.promise).toBe(true);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]?.outcome).toBe('aborted');
  });

  it('with a signal aborted before the call, answers 499 too', async () => {
    const results: StreamResult[] = [];
    server = await serve(() => ['never'], () => ({ format: withAbort, signal: AbortSignal.abort() }), results);
    const res = await get(server.url);
    expect(res.statusCode).toBe(499);
    expect(JSON.parse(await readBody(res))).toMatchObject({ error: { code: 'aborted' } });
    await vi.waitFor(() => expect(results[0]?.outcome).toBe('aborted'));
  });
});

describe('a failing onFinish', () => {
  const failures = {
    throws: () => {
      throw new Error('onFinish broke');
    },
    rejects: () => Promise.reject(new Error('onFinish broke')),
  };

  it.each(Object.entries(failures))('that %s is reported to onError, never an unhandled rejection', async (_name, onFinish) => {
    const reported = deferred<unknown>();
    const response = await streamingResponse(['a', 'b'], {
      onFinish,
      onError: (error) => {
        reported.resolve(error);
        return undefined;
      },
    });
    expect(await response.text()).toBe('ab');
    expect(await reported.promise).toMatchObject({ message: 'onFinish broke' });
  });

  it.each(Object.entries(failures))('that %s is logged with console.error when there is no onError', async (_name, onFinish) => {
    const logged = deferred<unknown[]>();
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => logged.resolve(args));
    const response = await streamingResponse(['a'], { onFinish });
    expect(await response.text()).toBe('a');
    expect((await logged.promise).at(-1)).toMatchObject({ message: 'onFinish broke' });
  });
});

describe('a SluiceError whose status is not an error status', () => {
  const failing = (status: number): Source<string> =>
    // eslint-disable-next-line require-yield -- fails before its first item
    async function* () {
      await Promise.resolve();
      throw new SluiceError('upstream_odd', 'The upstream answered oddly.', { status });
    };

  it.each([304, 0, 200, 600, 1.5])('status %s: streamingResponse settles with 500 and the error body', async (status) => {
    const response = await within(streamingResponse(failing(status)), 2000, 'streamingResponse never settled');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'upstream_odd', message: 'The upstream answered oddly.' } });
  });

  it.each([304, 0, 200])('status %s: sendStream answers 500 with the error body, not an implicit 200', async (status) => {
    server = await startServer((_req, res) => void sendStream(res, failing(status)));
    const res = await get(server.url);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(await readBody(res))).toMatchObject({ error: { code: 'upstream_odd' } });
  });
});

describe.each(Object.entries(paths))('an error response before the first byte (%s path)', (_path, serve) => {
  const callerHeaders = { 'Access-Control-Allow-Origin': 'https://app.example', 'x-stream-id': 'abc-123', 'Content-Length': '5' };

  it('keeps the caller’s headers, with its own content type and no content length', async () => {
    server = await serve(
      () =>
        // eslint-disable-next-line require-yield -- fails before its first item
        async function* () {
          await Promise.resolve();
          throw new Error('boom');
        },
      () => ({ headers: callerHeaders }),
      [],
    );
    const res = await get(server.url);
    expect(res.statusCode).toBe(500);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['x-stream-id']).toBe('abc-123');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = await readBody(res);
    expect(res.headers['content-length']).not.toBe('5');
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'internal_error' } });
  });

  it('keeps them on the 499 of a stream stopped before its head', async () => {
    server = await serve(() => ['never'], () => ({ headers: callerHeaders, signal: AbortSignal.abort() }), []);
    const res = await get(server.url);
    expect(res.statusCode).toBe(499);
    expect(res.headers['x-stream-id']).toBe('abc-123');
    expect(JSON.parse(await readBody(res))).toMatchObject({ error: { code: 'aborted' } });
  });
});

describe('writeResponse answering a body that fails before its first chunk', () => {
  it('keeps the response’s own headers on its 500', async () => {
    server = await startServer(async (_req, res) => {
      const body = new ReadableStream<Uint8Array>({
        pull() {
          throw new Error('broken before anything');
        },
      });
      await writeResponse(res, new Response(body, { headers: { 'content-type': 'text/plain', 'x-stream-id': 'abc-123' } }));
    });
    const res = await get(server.url);
    expect(res.statusCode).toBe(500);
    expect(res.headers['x-stream-id']).toBe('abc-123');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(await readBody(res))).toMatchObject({ error: { code: 'internal_error' } });
  });
});

describe('writeResponse serving a body of its own that fails after its head', () => {
  /** A body that writes its last chunk (its error message, say) and fails a microtask later. */
  const lastWordsThenFail = (): ReadableStream<Uint8Array> => {
    let step = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        step++;
        if (step === 1) {
          controller.enqueue(new TextEncoder().encode('first\n'));
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(new TextEncoder().encode('last words\n'));
        await Promise.resolve();
        controller.error(new Error('then failed'));
      },
    });
  };

  it('sends what the body wrote before it failed, then aborts the transfer (HTTP/1.1, chunked)', async () => {
    server = await startServer(async (_req, res) => {
      await writeResponse(res, new Response(lastWordsThenFail(), { headers: { 'content-type': 'text/plain' } }));
    });
    const res = await get(server.url);
    expect(res.statusCode).toBe(200);
    let received = '';
    res.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    // Incomplete: the terminating chunk never comes.
    await expect(readBody(res)).rejects.toThrow();
    expect(received).toBe('first\nlast words\n');
  });

  it('sends what the body wrote before it failed, then resets the connection (HTTP/1.0, close-delimited)', async () => {
    server = await startServer(async (_req, res) => {
      await writeResponse(res, new Response(lastWordsThenFail(), { headers: { 'content-type': 'text/plain' } }));
    });
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.write('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      socket.on('error', resolve);
      socket.on('close', () => resolve(undefined));
    });
    expect(error?.code).toBe('ECONNRESET');
    expect(received.slice(received.indexOf('\r\n\r\n') + 4)).toBe('first\nlast words\n');
  });
});

describe('maxBatchBytes', () => {
  it('counts UTF-8 bytes: a batch of Chinese text is cut at the byte limit, not at the code-unit count', async () => {
    const writes: number[] = [];
    const sink: Sink = {
      commit: () => undefined,
      write(chunk) {
        writes.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk).byteLength : chunk.byteLength);
        return true;
      },
      end: () => undefined,
      abort: () => undefined,
    };
    // Each item is 4 code units and 12 UTF-8 bytes: with a 12-byte limit each leaves on its own.
    const engine = createStreamEngine(Array.from({ length: 6 }, () => '数字数字'), { format: text() as Format<string>, maxBatchBytes: 12 }, sink);
    engine.start();
    await engine.done;
    expect(writes).toEqual([12, 12, 12, 12, 12, 12]);
  });

  it.each(Object.entries(paths))('StreamResult.bytes is the UTF-8 length of the body (%s path)', async (_path, serve) => {
    const results: StreamResult[] = [];
    const items = ['数字: 1\n', 'emoji 😀\n', 'plain\n'];
    server = await serve(() => items, () => ({}), results);
    const body = await readBody(await get(server.url));
    expect(body).toBe(items.join(''));
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]?.bytes).toBe(Buffer.byteLength(items.join('')));
  });
});
