/**
 * A Redis that is reachable but cannot serve yet (restarted from its append-only file and still
 * loading it: every command answers `-LOADING …`) is an outage like a broken connection: the store
 * rejects with code `unavailable` (503, and `store_unavailable` over HTTP), never a bare error reply
 * that the server answers as `500 internal_error`. Found by the fault suite (`redis-restart-data`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHttpError } from '../src/server/http-error.ts';
import { createRedisStore } from '../src/store/redis.ts';
import type { StreamStore } from '../src/store/types.ts';

/** Answers the connection handshake with +OK and every other command with `reply`. */
const sockets = new Set<Socket>();

function fakeRedis(reply: string): Promise<Server> {
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      // One reply per complete RESP array (`*N\r\n` then N bulk strings).
      for (;;) {
        const match = /^\*(\d+)\r\n/.exec(buffer);
        if (match === null) return;
        let at = match[0].length;
        const args: string[] = [];
        for (let index = 0; index < Number(match[1]); index++) {
          const head = /^\$(\d+)\r\n/.exec(buffer.slice(at));
          if (head === null) return;
          const length = Number(head[1]);
          const start = at + head[0].length;
          if (buffer.length < start + length + 2) return;
          args.push(buffer.slice(start, start + length));
          at = start + length + 2;
        }
        buffer = buffer.slice(at);
        const command = (args[0] ?? '').toUpperCase();
        socket.write(command === 'CLIENT' || command === 'SELECT' || command === 'PING' ? (command === 'PING' ? '+PONG\r\n' : '+OK\r\n') : `${reply}\r\n`);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server: Server;
let store: StreamStore;

beforeAll(async () => {
  server = await fakeRedis('-LOADING Redis is loading the dataset in memory');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  store = createRedisStore({ url: `redis://127.0.0.1:${port}` });
});

afterAll(async () => {
  await store?.close();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the Redis store while Redis loads its data', () => {
  it('rejects create and info with code unavailable (503), which the server answers as store_unavailable', async () => {
    const create = store.create({ id: randomUUID() }).catch((error: unknown) => error);
    const error = await create;
    expect(error).toMatchObject({ name: 'StoreError', code: 'unavailable', status: 503 });
    await expect(store.info(randomUUID())).rejects.toMatchObject({ code: 'unavailable' });
    expect(toHttpError(error)).toMatchObject({ status: 503, code: 'store_unavailable', headers: { 'retry-after': '1' } });
  });
});
