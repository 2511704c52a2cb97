/**
 * The Web path while the head is held: given the request, `streamingResponse` stops the source at
 * once when the client leaves (nobody can cancel a body that was not returned yet), and
 * `writeResponse` puts a head the engine committed without a body byte on the wire at once.
 */
import { serve, type ServerType } from '@hono/node-server';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeResponse } from '../src/core/node/index.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { text } from '../src/core/text-format.ts';
import type { Format, StreamResult } from '../src/core/types.ts';
import { sse } from '../src/sse/sse-format.ts';
import { deferred, firstChunk, get, startServer, type TestServer } from './helpers/http.ts';

let server: TestServer | undefined;
let hono: ServerType | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (hono !== undefined) {
    const closing = hono;
    hono = undefined;
    await new Promise<void>((resolve) => {
      (closing as { closeAllConnections?: () => void }).closeAllConnections?.();
      closing.close(() => resolve());
    });
  }
});

/** A producer that never yields: it waits until stopped, then records that its `finally` ran. */
function silent(started: { resolve: () => void }, finallyRan: { resolve: (value: boolean) => void }) {
  // eslint-disable-next-line require-yield -- silent until stopped
  return async function* (signal: AbortSignal) {
    try {
      started.resolve();
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    } finally {
      finallyRan.resolve(true);
    }
  };
}

/** Sends a request, and destroys it once `ready` resolves. */
function leaveWhen(url: string, ready: Promise<void>): void {
  const req = request(url, { agent: false });
  req.on('error', () => undefined);
  req.end();
  void ready.then(() => req.destroy());
}

describe('streamingResponse({ request }) while the head is held', () => {
  it('stops the source at once when the client leaves (a real Request in @hono/node-server)', async () => {
    const started = deferred();
    const finallyRan = deferred<boolean>();
    const result = deferred<StreamResult>();
    const settled = deferred<number>();
    hono = serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: async (req: Request) => {
        const response = await streamingResponse(silent(started, finallyRan), { request: req, onFinish: result.resolve });
        settled.resolve(response.status);
        return response;
      },
    });
    await new Promise<void>((resolve) => hono!.once('listening', resolve));
    const { port } = hono.address() as AddressInfo;
    leaveWhen(`http://127.0.0.1:${port}/`, started.promise);
    // The default hold is 10 s: without the request's signal the source would run at least that long.
    expect(await finallyRan.promise).toBe(true);
    expect((await result.promise).outcome).toBe('disconnected');
    expect(await settled.promise).toBe(499);
  });

  it('stops the source at once when the signal aborts, on Node with writeResponse', async () => {
    const started = deferred();
    const finallyRan = deferred<boolean>();
    const result = deferred<StreamResult>();
    server = await startServer(async (_req, res) => {
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      await writeResponse(res, await streamingResponse(silent(started, finallyRan), { request: gone, onFinish: result.resolve }));
    });
    leaveWhen(server.url, started.promise);
    expect(await finallyRan.promise).toBe(true);
    expect((await result.promise).outcome).toBe('disconnected');
  });

  it('stops a source whose request was already aborted, without pulling it', async () => {
    let pulled = 0;
    const response = await streamingResponse(
      (function* () {
        for (;;) {
          pulled++;
          yield 'x';
        }
      })(),
      { request: { signal: AbortSignal.abort() } },
    );
    expect(response.status).toBe(499);
    expect(pulled).toBe(0);
  });
});

describe('writeResponse when the hold runs out', () => {
  const formats: Record<string, { format: Format<never>; first: string }> = {
    'with a heartbeat (sse)': { format: sse() as Format<never>, first: ': ping\n\n' },
    'without a heartbeat (text)': { format: text() as Format<never>, first: '' },
  };

  it.each(Object.entries(formats))('%s puts the head on the wire at once', async (_name, { format, first }) => {
    const started = deferred();
    const finallyRan = deferred<boolean>();
    server = await startServer(async (_req, res) => {
      await writeResponse(res, await streamingResponse(silent(started, finallyRan), { format, holdHeadersMs: 50 }));
    });
    const res = await get(server.url);
    expect(res.statusCode).toBe(200);
    if (first !== '') expect(await firstChunk(res)).toBe(first);
    res.destroy();
    expect(await finallyRan.promise).toBe(true);
  });
});
