/**
 * An error right after the source's first item, before the engine's flush turn wrote it: once the
 * source has yielded an item the response is committed (200, the head, every item, then the
 * format's error signal), whatever the hold and flush timing; only an error before any item is
 * answered with a real HTTP status and a JSON body. On the Node path (`sendStream`) and the Web
 * path (`streamingResponse`, served by `writeResponse` and read directly).
 */
import { request, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.ts';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { sleep } from '../src/core/sleep.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { text } from '../src/core/text-format.ts';
import type { Format, Source, StreamOptions, StreamResult } from '../src/core/types.ts';
import { sse } from '../src/sse/sse-format.ts';
import { deferred, get, startServer, type TestServer } from './helpers/http.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const SAFE_ERROR = '{"code":"internal_error","message":"The stream failed because of an internal error."}';

/** The body as received, and whether the transfer ended cleanly or was aborted. */
function receive(res: IncomingMessage): Promise<{ body: string; clean: boolean }> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve({ body, clean: true }));
    res.on('error', () => resolve({ body, clean: false }));
    res.on('aborted', () => resolve({ body, clean: false }));
  });
}

/** Rejects with the signal's reason once it aborts (at once when it already has). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Reads a Web body to its end; `clean` is false when it errored. */
async function receiveWeb(response: Response): Promise<{ body: string; clean: boolean }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let body = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { body, clean: true };
      body += decoder.decode(value, { stream: true });
    }
  } catch {
    return { body, clean: false };
  }
}

const formats = {
  sse: {
    format: () => sse() as Format<never>,
    item: { data: 'one' },
    // The format's error signal: an error event, then a clean close.
    expected: { body: `data: one\n\nevent: error\ndata: ${SAFE_ERROR}\n\n`, clean: true },
  },
  text: {
    format: () => text() as Format<never>,
    item: 'one',
    // The format's error signal: an aborted transfer after what was sent.
    expected: { body: 'one', clean: false },
  },
};

/**
 * How long the source waits between its item and its error. ('at once' runs under the default
 * hold of 10 s: a commit that waited for the hold would time the test out.)
 */
const timings: Record<string, () => Promise<void> | undefined> = {
  'at once': () => undefined,
  'after a microtask': () => Promise.resolve(),
  'after a macrotask': () => sleep(1),
};

/** Serves `source` on one path and answers the status, the content type and what the client received. */
type Serve = (source: Source<never>, options: StreamOptions<never>) => Promise<{ status: number; contentType: string | undefined; body: string; clean: boolean; result: StreamResult }>;

const paths: Record<string, Serve> = {
  'node (sendStream)': async (source, options) => {
    const result = deferred<StreamResult>();
    server = await startServer((_req, res) => void sendStream(res, source, options).then(result.resolve));
    const res = await get(server.url);
    const received = await receive(res);
    return { status: res.statusCode as number, contentType: res.headers['content-type'], ...received, result: await result.promise };
  },
  'web (streamingResponse + writeResponse)': async (source, options) => {
    const result = deferred<StreamResult>();
    server = await startServer(async (_req, res) => {
      await writeResponse(res, await streamingResponse(source, { ...options, onFinish: result.resolve }));
    });
    const res = await get(server.url);
    const received = await receive(res);
    return { status: res.statusCode as number, contentType: res.headers['content-type'], ...received, result: await result.promise };
  },
  'web (streamingResponse, body read directly)': async (source, options) => {
    const result = deferred<StreamResult>();
    const response = await streamingResponse(source, { ...options, onFinish: result.resolve });
    const received = await receiveWeb(response);
    return { status: response.status, contentType: response.headers.get('content-type') ?? undefined, ...received, result: await result.promise };
  },
};

describe.each(Object.entries(paths))('%s', (_path, serve) => {
  describe.each(Object.entries(formats))('%s()', (name, { format, item, expected }) => {
    it.each(Object.entries(timings))('an error %s after the first item: 200, the item, then the error signal', async (_timing, pause) => {
      const failure = new Error('boom');
      const outcome = await serve(
        (async function* () {
          yield item;
          await pause();
          throw failure;
        }) as unknown as Source<never>,
        { format: format() },
      );
      expect(outcome.status).toBe(200);
      expect(outcome.contentType).toBe(format().contentType);
      expect({ body: outcome.body, clean: outcome.clean }).toEqual(expected);
      expect(outcome.result).toMatchObject({ outcome: 'errored', items: 1, error: failure });
    });

    it('a synchronous generator that yields then throws: 200, the item, then the error signal', async () => {
      const outcome = await serve(
        function* () {
          yield item;
          throw new Error('boom');
        } as unknown as Source<never>,
        { format: format() },
      );
      expect(outcome.status).toBe(200);
      expect({ body: outcome.body, clean: outcome.clean }).toEqual(expected);
    });

    it('several items ready at once, then an error: every item, then the error signal', async () => {
      const outcome = await serve(
        function* () {
          yield item;
          yield item;
          yield item;
          throw new Error('boom');
        } as unknown as Source<never>,
        { format: format() },
      );
      expect(outcome.status).toBe(200);
      const one = name === 'sse' ? 'data: one\n\n' : 'one';
      expect({ body: outcome.body, clean: outcome.clean }).toEqual({ ...expected, body: one.repeat(2) + expected.body });
      expect(outcome.result).toMatchObject({ outcome: 'errored', items: 3 });
    });

    it('an item then a normal end right away: 200, the item, a clean end', async () => {
      const outcome = await serve(
        (async function* () {
          yield item;
        }) as unknown as Source<never>,
        { format: format() },
      );
      expect(outcome.status).toBe(200);
      expect({ body: outcome.body, clean: outcome.clean }).toEqual({ body: name === 'sse' ? 'data: one\n\n' : 'one', clean: true });
      expect(outcome.result).toMatchObject({ outcome: 'completed', items: 1 });
    });
  });
});

describe('an error before any item', () => {
  it.each(Object.entries(paths))('%s: still a real status with a JSON body, whatever the format', async (_path, serve) => {
    const outcome = await serve(
      // eslint-disable-next-line require-yield -- a producer that fails before its first item
      function* () {
        throw new SluiceError('rate_limited', 'Too many requests.', { status: 429 });
      } as unknown as Source<never>,
      { format: sse() as Format<never> },
    );
    expect(outcome.status).toBe(429);
    expect(outcome.contentType).toBe('application/json; charset=utf-8');
    expect(JSON.parse(outcome.body)).toEqual({ error: { code: 'rate_limited', message: 'Too many requests.' } });
    expect(outcome.result).toMatchObject({ outcome: 'errored', items: 0 });
  });
});

describe('an item then a stop from outside (signal) at once', () => {
  it.each(Object.entries(paths))('%s: 200, the item, then an aborted transfer (text() has no abort signal)', async (_path, serve) => {
    const stop = new AbortController();
    const outcome = await serve(
      (async function* (signal: AbortSignal) {
        yield 'one';
        stop.abort(new Error('shutting down'));
        await untilAborted(signal);
      }) as unknown as Source<never>,
      { format: text() as Format<never>, signal: stop.signal },
    );
    expect(outcome.status).toBe(200);
    expect({ body: outcome.body, clean: outcome.clean }).toEqual({ body: 'one', clean: false });
    expect(outcome.result).toMatchObject({ outcome: 'aborted', items: 1 });
  });
});

describe('an item then the client leaves', () => {
  it('node: the source is stopped (signal, finally) and the stream settles as disconnected', async () => {
    const result = deferred<StreamResult>();
    const finallyRan = deferred<boolean>();
    server = await startServer(
      (_req, res) =>
        void sendStream(res, async function* (signal: AbortSignal) {
          try {
            yield 'one';
            await untilAborted(signal);
          } finally {
            finallyRan.resolve(true);
          }
        }).then(result.resolve),
    );
    const res = await get(server.url);
    expect(res.statusCode).toBe(200);
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    res.destroy();
    expect(await finallyRan.promise).toBe(true);
    expect(await result.promise).toMatchObject({ outcome: 'disconnected', items: 1 });
  });

  it('web: the request signal aborting right after the item stops the source; the unread answer is a 499', async () => {
    const request = new AbortController();
    const finallyRan = deferred<boolean>();
    const result = deferred<StreamResult>();
    const response = await streamingResponse(
      async function* (signal: AbortSignal) {
        try {
          yield 'one';
          request.abort();
          await untilAborted(signal);
        } finally {
          finallyRan.resolve(true);
        }
      },
      { request, onFinish: result.resolve },
    );
    expect(await result.promise).toMatchObject({ outcome: 'disconnected', items: 1 });
    // Nobody is left to read it: the item never left, and the answer does not claim success.
    expect(response.status).toBe(499);
    expect(await finallyRan.promise).toBe(true);
  });
});

describe('HEAD', () => {
  it('answers a HEAD whose source yields then fails at once with its 200 head (no body to cut), not a reset', async () => {
    server = await startServer((_req, res) => {
      void sendStream(
        res,
        function* () {
          yield 'one';
          throw new Error('boom');
        },
        { format: text() },
      );
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(server!.url, { method: 'HEAD', agent: false }, resolve);
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    res.resume();
  });
});
