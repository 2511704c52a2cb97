/**
 * A Redis at its `maxmemory` with `noeviction` refuses writes with `OOM command not allowed`: the
 * store says `full` (503 `store_full` with Retry-After at the HTTP layer), not an unknown error
 * (which the server answered with 500), on an append, a create, a publish and a chat's key.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStoreError } from '../src/store/errors.ts';
import { waitForExit } from '../scripts/redis-process.ts';
import { redisStores } from './helpers/redis-stores.ts';
import { freePort, redisCommand, requireRedisServer, spawnServer } from './helpers/redis-server.ts';
import { toHttpError } from '../src/server/http-error.ts';

const available = requireRedisServer();

describe.skipIf(!available)('the Redis store on a Redis out of memory (maxmemory, noeviction)', () => {
  let port = 0;
  let child: ChildProcess | undefined;
  const stores = redisStores(() => `redis://127.0.0.1:${port}`);
  beforeAll(async () => {
    port = await freePort();
    child = await spawnServer(port, ['--save', '', '--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
  });
  afterAll(async () => {
    await stores.closeAll();
    if (child !== undefined) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
  });

  it('rejects appends, creates, publishes and chat keys with code full (503 store_full), and serves again once there is room', async () => {
    const store = await stores.open();
    const writer = await store.create({ id: randomUUID() });
    writer.onStop(() => {});
    const text = 'x'.repeat(8 * 1024);
    let refused: unknown;
    // 2 MB hold a few hundred of these; the store must refuse long before 2000.
    for (let n = 1; n <= 2000 && refused === undefined; n++) {
      try {
        await writer.append({ type: 'text-delta', id: 't', delta: text });
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toMatchObject({ name: 'StoreError', code: 'full', status: 503 });
    expect((refused as Error).message).toMatch(/out of memory.*OOM command not allowed/);
    expect(isStoreError(refused)).toBe(true);
    expect(toHttpError(refused)).toMatchObject({ status: 503, code: 'store_full' });
    // Full for good (the refused append's memory is freed again, so the limit could let the next
    // write in): a maxmemory below what the data takes.
    await redisCommand(port, ['CONFIG', 'SET', 'maxmemory', '1mb']);
    await expect(store.create({ id: randomUUID() })).rejects.toMatchObject({ code: 'full' });
    await expect(store.publish('t', { data: text })).rejects.toMatchObject({ code: 'full' });
    await expect(store.setChatStream(randomUUID(), randomUUID())).rejects.toMatchObject({ code: 'full' });
    // What is stored can still be read.
    const read = store.read(writer.id)[Symbol.asyncIterator]();
    expect((await read.next()).value).toEqual({ id: 1, event: { type: 'text-delta', id: 't', delta: text } });
    await read.return?.();
    // Room again (a larger maxmemory): the same store creates streams.
    await redisCommand(port, ['CONFIG', 'SET', 'maxmemory', '0']);
    const fresh = await store.create({ id: randomUUID() });
    fresh.onStop(() => {});
    expect(await fresh.append({ type: 'text-delta', id: 't', delta: 'ok' })).toBe(1);
  });
});
