import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisStore } from '../src/store/redis.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import { redisStores, WAIT } from './helpers/redis-stores.ts';
import { redisCommand, requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { collect, delta, FINISH } from './store-contract.ts';

const available = requireRedisServer();

describe.skipIf(!available)('the Redis store on a private redis-server', () => {
  let server: RedisServer;
  const stores = redisStores(() => server.url);
  const { open } = stores;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await stores.closeAll();
    await server.close();
  });

  stores.describeContract('redis');

  describe('redis store', () => {
    it('serves 100 followers of one instance over at most 4 Redis connections', async () => {
      const clients = async (): Promise<number> =>
        // Minus the connection that asks.
        (await redisCommand(server.port, ['CLIENT', 'LIST'])).trim().split('\n').length - 1;
      const before = await clients();
      const store = await open();
      const writers = await Promise.all(Array.from({ length: 10 }, () => store.create({ id: randomUUID() })));
      for (const writer of writers) writer.onStop(() => {});
      const reads = writers.flatMap((writer) => Array.from({ length: 10 }, () => collect(store.read(writer.id))));
      for (const writer of writers) for (let n = 1; n <= 5; n++) await writer.append(delta(n));
      await store.publish('t', { data: 1 });
      const during = await clients();
      for (const writer of writers) await writer.append(FINISH);
      for (const events of await Promise.all(reads)) expect(events.map((stored) => stored.id)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(during - before).toBeLessThanOrEqual(4);
      expect(during - before).toBeGreaterThanOrEqual(2);
    });

    it('ends reads with unavailable while Redis is down, and works again once it is back', async () => {
      const store = await open();
      const writer = await store.create({ id: randomUUID() });
      await writer.append(delta(1));
      const iterator = store.read(writer.id)[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ id: 1, event: delta(1) });
      const pending = expect(iterator.next()).rejects.toMatchObject({ code: 'unavailable', status: 503 });
      await server.kill();
      await pending;
      expect(await store.ready()).toBe(false);
      await expect(writer.append(delta(2))).rejects.toMatchObject({ code: 'unavailable' });
      await expect(store.create({ id: randomUUID() })).rejects.toMatchObject({ code: 'unavailable' });
      await expect(collect(store.read(writer.id))).rejects.toMatchObject({ code: 'unavailable' });
      // A store created during the outage is usable once Redis is back.
      const late = createRedisStore({ url: server.url, keyPrefix: `test:${randomUUID()}:` });
      stores.track(late);
      expect(await late.ready()).toBe(false);
      await server.restart();
      for (const instance of [store, late]) {
        await vi.waitFor(async () => expect(await instance.ready()).toBe(true), WAIT);
        const fresh = await instance.create({ id: randomUUID() });
        const follower = collect(instance.read(fresh.id));
        await fresh.append(delta(1));
        await fresh.append(FINISH);
        expect((await follower).map((stored) => stored.id)).toEqual([1, 2]);
      }
    });

    it('counts a follower on an instance that died as detached once its attachment expires', async () => {
      const keyPrefix = `test:${randomUUID()}:`;
      const a = await open({ keyPrefix, attachTtlMs: 300 });
      const b = await open({ keyPrefix, attachTtlMs: 300 });
      const writer = await b.create({ id: randomUUID() });
      a.attach(writer.id);
      await vi.waitFor(async () => expect(await b.detachedSince(writer.id)).toBeUndefined(), WAIT);
      // The attachment outlives its TTL while the instance refreshes it.
      const attachedAt = Date.now();
      await vi.waitFor(() => expect(Date.now() - attachedAt).toBeGreaterThan(600), WAIT);
      expect(await b.detachedSince(writer.id)).toBeUndefined();
      await a.close(); // dies without detaching
      await vi.waitFor(async () => expect(await b.detachedSince(writer.id)).toBeGreaterThan(attachedAt), WAIT);
      await writer.append(FINISH);
    });

    it('rejects a read from before the kept events of a stream past maxLen with code trimmed', async () => {
      const store = await open({ maxLen: 10 });
      const writer = await store.create({ id: randomUUID() });
      for (let n = 1; n <= 299; n++) void writer.append(delta(n));
      await writer.append(FINISH);
      await expect(collect(store.read(writer.id))).rejects.toMatchObject({ code: 'trimmed', status: 410 });
      expect((await collect(store.read(writer.id, { after: 295 }))).map((stored) => stored.id)).toEqual([296, 297, 298, 299, 300]);
    });

    it('ends a stream whose log lost acknowledged events (a failover to a lagging replica) with store_lost_events, never renumbering', async () => {
      const keyPrefix = `test:${randomUUID()}:`;
      const store = await open({ keyPrefix });
      const other = await open({ keyPrefix });
      const id = randomUUID();
      const writer = await store.create({ id });
      const seen: { id: number; event: AgentEvent }[] = [];
      const following = (async () => {
        for await (const stored of other.read(id)) seen.push(stored);
      })();
      for (let n = 1; n <= 10; n++) await writer.append(delta(n));
      await vi.waitFor(() => expect(seen.length).toBe(10), WAIT);

      // What a replica that missed the last two writes holds once promoted: the log and the state end at 8.
      const log = `${keyPrefix}{${id}}:log`;
      await redisCommand(server.port, ['XDEL', log, '9-0', '10-0']);
      await redisCommand(server.port, ['XSETID', log, '8-0']);
      await redisCommand(server.port, ['HSET', `${keyPrefix}{${id}}:state`, 'lastId', '8']);
      // A follower that joins the shorter log at its end (live, unless the append below is quicker).
      const late: { id: number; event: AgentEvent }[] = [];
      const lateFollowing = (async () => {
        for await (const stored of other.read(id, { after: 8 })) late.push(stored);
      })();

      await expect(writer.append(delta(11))).rejects.toMatchObject({ code: 'fenced', message: expect.stringContaining('store_lost_events') });
      const lost = { type: 'error', code: 'store_lost_events', retryable: true };
      await following;
      // The follower that saw 9 and 10 gets the terminal error next, with the id the writer expected: nothing skipped, nothing renumbered.
      expect(seen.map((stored) => stored.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(seen[10]?.event).toMatchObject(lost);
      await lateFollowing;
      expect(late.map((stored) => stored.id)).toEqual([11]);
      expect(late[0]?.event).toMatchObject(lost);
      // A read from the start gets what is kept, then the same terminal error.
      const replay = await collect(store.read(id));
      expect(replay.map((stored) => stored.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 11]);
      expect(replay.at(-1)?.event).toMatchObject(lost);
      expect(await store.info(id)).toMatchObject({ state: 'done', lastId: 11 });
      await expect(writer.append(FINISH)).rejects.toMatchObject({ code: 'fenced' });
    });

    it('can be created while Redis is unreachable and says so in ready()', async () => {
      const store = createRedisStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:' });
      expect(await store.ready()).toBe(false);
      await expect(store.requestStop('x', 'y')).rejects.toMatchObject({ code: 'unavailable' });
      await store.close();
    });
  });
});
