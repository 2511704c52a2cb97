/**
 * The send timeout: a client that stops reading (here a raw socket that never reads, so the
 * kernel buffers fill) is disconnected once a write cannot drain within `sendTimeoutMs`; the
 * producer's `finally` runs and nothing is left behind (listeners, timers).
 */
import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import type { StreamOptions, StreamResult } from '../src/core/types.ts';
import { deferred, startServer, type TestServer } from './helpers/http.ts';

let server: TestServer | undefined;
let client: Socket | undefined;
afterEach(async () => {
  client?.destroy();
  client = undefined;
  await server?.close();
  server = undefined;
});

const CHUNK = 'x'.repeat(64 * 1024);

/** Opens a request on a raw socket that never reads its response. */
function stalledClient(url: string): Socket {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  // Never read: the kernel's receive and send buffers fill, then Node's, then no drain comes.
  socket.pause();
  return socket;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

const paths = {
  node: (res: ServerResponse, source: (signal: AbortSignal) => Iterable<string>, options: StreamOptions<string>) =>
    sendStream(res, source, options),
  web: async (res: ServerResponse, source: (signal: AbortSignal) => Iterable<string>, options: StreamOptions<string>) => {
    const result = deferred<StreamResult>();
    await writeResponse(res, await streamingResponse(source, { ...options, onFinish: result.resolve }));
    return result.promise;
  },
};

describe.each(Object.entries(paths))('sendTimeoutMs (%s path)', (_path, send) => {
  it('disconnects a client that stopped reading: finally runs, outcome disconnected, no listeners or timers left', async () => {
    const finallyRan = deferred<boolean>();
    const done = deferred<{ result: StreamResult; drain: number; close: number; socketClosed: boolean }>();
    const timersBefore = timers();
    server = await startServer((_req, res) => {
      const drainBefore = res.listenerCount('drain');
      const closeBefore = res.listenerCount('close');
      void send(
        res,
        function* () {
          try {
            for (;;) yield CHUNK;
          } finally {
            finallyRan.resolve(true);
          }
        },
        { sendTimeoutMs: 200 },
      ).then((result) =>
        done.resolve({
          result,
          drain: res.listenerCount('drain') - drainBefore,
          close: res.listenerCount('close') - closeBefore,
          socketClosed: res.socket === null || res.socket.destroyed,
        }),
      );
    });
    client = stalledClient(server.url);
    const { result, drain, close, socketClosed } = await done.promise;
    expect(result.outcome).toBe('disconnected');
    expect(await finallyRan.promise).toBe(true);
    expect(drain).toBe(0);
    expect(close).toBe(0);
    expect(socketClosed).toBe(true);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  });
});

describe('sendTimeoutMs validation', () => {
  it('rejects a negative timeout at the call', () => {
    expect(() => streamingResponse(['a'], { sendTimeoutMs: -1 })).toThrow(RangeError);
  });
});
