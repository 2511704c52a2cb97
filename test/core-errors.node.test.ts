/**
 * Must-show 4 and 5 of the streaming core: errors before the first chunk become a 5xx with a JSON
 * body; errors after it become the format's error signal (SSE error event, NDJSON error line, an
 * aborted plain-text transfer); the server stays up; heartbeats reach a client on an idle stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.ts';
import { ndjson } from '../src/core/ndjson-format.ts';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { text } from '../src/core/text-format.ts';
import type { Format, Source, StreamOptions } from '../src/core/types.ts';
import { sse } from '../src/sse/sse-format.ts';
import { deferred, firstChunk, get, readBody, startServer, type TestServer } from './helpers/http.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const formats: Record<string, { format: () => Format<never>; item: unknown }> = {
  text: { format: () => text() as Format<never>, item: 'hello\n' },
  ndjson: { format: () => ndjson() as Format<never>, item: { n: 1 } },
  sse: { format: () => sse() as Format<never>, item: { data: 'hello' } },
};

const paths = {
  node: (source: Source<never>, options: StreamOptions<never>) =>
    startServer((req, res) => {
      if (req.url === '/ok') return void res.end('ok');
      void sendStream(res, source, options);
    }),
  web: (source: Source<never>, options: StreamOptions<never>) =>
    startServer(async (req, res) => {
      if (req.url === '/ok') return void res.end('ok');
      await writeResponse(res, await streamingResponse(source, options));
    }),
};

describe.each(Object.entries(paths))('%s path', (_path, serve) => {
  describe.each(Object.entries(formats))('%s', (name, { format, item }) => {
    it('answers 500 with a JSON error body when the source fails before the first chunk', async () => {
      server = await serve(
        // eslint-disable-next-line require-yield -- a producer that fails before its first item
        (async function* () {
          await Promise.resolve();
          throw new Error('database password is hunter2');
        })() as Source<never>,
        { format: format() },
      );
      const res = await get(server.url);
      expect(res.statusCode).toBe(500);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = JSON.parse(await readBody(res)) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('internal_error');
      // The raw message of an unknown error is not leaked to clients.
      expect(body.error.message).not.toContain('hunter2');
      expect(await readBody(await get(`${server.url}/ok`))).toBe('ok');
    });

    it('answers the status and code of a sluice error thrown before the first chunk', async () => {
      server = await serve(
        (() => {
          throw new SluiceError('upstream_unavailable', 'The model is overloaded, try again.', { status: 503 });
        }) as Source<never>,
        { format: format() },
      );
      const res = await get(server.url);
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(await readBody(res))).toEqual({
        error: { code: 'upstream_unavailable', message: 'The model is overloaded, try again.' },
      });
    });

    it('sends the format’s error signal when the source fails after the first chunk, and stays up', async () => {
      const gate = deferred();
      server = await serve(
        (async function* () {
          yield item;
          await gate.promise;
          throw new Error('lost the upstream');
        })() as Source<never>,
        { format: format() },
      );
      const res = await get(server.url);
      expect(res.statusCode).toBe(200);
      const first = await firstChunk(res);
      const rest = readBody(res);
      gate.resolve();
      if (name === 'text') {
        await expect(rest).rejects.toThrow();
        expect(first).toBe('hello\n');
      } else {
        const body = first + (await rest);
        if (name === 'sse') {
          expect(body).toBe(
            'data: hello\n\nevent: error\ndata: {"code":"internal_error","message":"The stream failed because of an internal error."}\n\n',
          );
        } else {
          expect(body).toBe(
            '{"n":1}\n{"error":{"code":"internal_error","message":"The stream failed because of an internal error."}}\n',
          );
        }
      }
      expect(await readBody(await get(`${server.url}/ok`))).toBe('ok');
    });
  });

  it('lets onError choose the message clients see', async () => {
    server = await serve(
      // eslint-disable-next-line require-yield -- a producer that fails before its first item
      (async function* () {
        await Promise.resolve();
        throw new Error('quota');
      })() as Source<never>,
      { format: sse() as Format<never>, onError: (error) => `failed: ${(error as Error).message}` },
    );
    const res = await get(server.url);
    expect(JSON.parse(await readBody(res))).toEqual({ error: { code: 'internal_error', message: 'failed: quota' } });
  });

  it('sends a heartbeat right after the head on an idle SSE stream, then every heartbeatMs', async () => {
    const gate = deferred();
    server = await serve(
      (async function* () {
        await gate.promise;
        yield { data: 'late' };
      })() as Source<never>,
      { format: sse() as Format<never>, holdHeadersMs: 0, heartbeatMs: 30 },
    );
    const res = await get(server.url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.headers['content-encoding']).toBeUndefined();
    let received = '';
    res.setEncoding('utf8');
    await new Promise<void>((resolve) =>
      res.on('data', (chunk: string) => {
        received += chunk;
        if (received.split(': ping\n\n').length > 3) resolve();
      }),
    );
    const rest = readBody(res);
    gate.resolve();
    expect(received + (await rest)).toMatch(/^(: ping\n\n){3,}(: ping\n\n)*data: late\n\n$/);
  });
});
