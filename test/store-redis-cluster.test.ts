/**
 * The store contract (test/store-contract.ts) on a private 3-master Redis Cluster
 * (test/helpers/redis-cluster.ts), through a `redis+cluster://` URL; and what only a cluster
 * checks: one stream's keys (and one topic's) share a slot while streams spread over the masters.
 * With CI=true a missing redis-server fails the file.
 */
import { randomUUID } from 'node:crypto';
import rateLimiter from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisStore, parseClusterUrl } from '../src/store/redis.ts';
import { freeClusterPorts, startRedisCluster, type RedisCluster } from './helpers/redis-cluster.ts';
import { redisCommand, requireRedisServer } from './helpers/redis-server.ts';
import { redisStores, WAIT } from './helpers/redis-stores.ts';
import { collect, delta, FINISH } from './store-contract.ts';

const available = requireRedisServer();

describe('parseClusterUrl', () => {
  it('reads the nodes, the credentials and TLS; a single-node URL is not a cluster', () => {
    expect(parseClusterUrl('redis://127.0.0.1:6379')).toBeUndefined();
    expect(parseClusterUrl('redis+cluster://a:1,b:2')).toEqual({ rootNodes: [{ url: 'redis://a:1' }, { url: 'redis://b:2' }], tls: false });
    expect(parseClusterUrl('rediss+cluster://me:p%40ss@a:1/')).toEqual({ rootNodes: [{ url: 'rediss://a:1' }], username: 'me', password: 'p@ss', tls: true });
    expect(parseClusterUrl('redis+cluster://:secret@a:1')).toEqual({ rootNodes: [{ url: 'redis://a:1' }], password: 'secret', tls: false });
    expect(() => parseClusterUrl('redis+cluster://u:secret@a:1/0')).toThrow(/cluster URL/);
    expect(() => parseClusterUrl('redis+cluster://u:secret@a:1/0')).not.toThrow(/secret/);
  });

  it('a store on a cluster that cannot be reached says so in ready(), refuses with unavailable and closes', async () => {
    const store = createRedisStore({ url: 'redis+cluster://127.0.0.1:1,127.0.0.1:2', keyPrefix: 'x:' });
    expect(await store.ready()).toBe(false);
    await expect(store.requestStop('x', 'y')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(store.create({ id: 'x' })).rejects.toMatchObject({ code: 'unavailable' });
    await store.close();
  });

  it('refuses a key prefix with braces on a cluster', () => {
    expect(() => createRedisStore({ url: 'redis+cluster://127.0.0.1:1', keyPrefix: '{app}:' })).toThrow(RangeError);
  });
});

describe.skipIf(!available)('the Redis store on a private 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  const stores = redisStores(() => cluster.url);
  const { open } = stores;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await stores.closeAll();
    await cluster?.close();
  });

  stores.describeContract('redis cluster');

  describe('cluster', () => {
    it('a store created before its cluster is up connects once it is, and works', async () => {
      const ports = await freeClusterPorts();
      const store = createRedisStore({ url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, keyPrefix: `test:${randomUUID()}:` });
      stores.track(store);
      expect(await store.ready()).toBe(false);
      const late = await startRedisCluster({ ports });
      try {
        await vi.waitFor(async () => expect(await store.ready()).toBe(true), WAIT);
        const writer = await store.create({ id: randomUUID() });
        const following = collect(store.read(writer.id));
        await writer.append(delta(1));
        await writer.append(FINISH);
        expect((await following).map((stored) => stored.id)).toEqual([1, 2]);
      } finally {
        await store.close();
        await late.close();
      }
    });

    it('puts every key of a stream in one slot, and spreads streams over the three masters', async () => {
      const keyPrefix = `test:${randomUUID()}:`;
      const store = await open({ keyPrefix });
      const other = await open({ keyPrefix });
      const ids = Array.from({ length: 12 }, () => randomUUID());
      const results = await Promise.all(
        ids.map(async (id) => {
          const writer = await store.create({ id, request: { n: 1 }, maxTakeovers: 1 });
          const events = collect(other.read(id));
          await writer.append(delta(1));
          await writer.append(FINISH);
          return events;
        }),
      );
      for (const events of results) expect(events.map((stored) => stored.id)).toEqual([1, 2]);
      const keysPerNode = await Promise.all(cluster.ports.map(async (port) => Number(await redisCommand(port, ['DBSIZE']))));
      expect(keysPerNode.filter((count) => count > 0)).toHaveLength(3);
      for (const id of ids) {
        const slots = await Promise.all(
          ['log', 'state', 'lease', 'followers', 'request'].map((suffix) => redisCommand(cluster.ports[0]!, ['CLUSTER', 'KEYSLOT', `${keyPrefix}{${id}}:${suffix}`])),
        );
        expect(new Set(slots).size).toBe(1);
      }
    });

    it('counts quotas on the cluster: leases, and rate-limiter-flexible on the store\'s cluster client', async () => {
      const store = await open();
      const backend = store.quotaBackend!();
      const key = `${backend.keyPrefix}streams:${randomUUID()}`;
      expect(await backend.leases.acquire(key, 'a', 1, 10_000)).toBe(true);
      expect(await backend.leases.acquire(key, 'b', 1, 10_000)).toBe(false);
      await backend.leases.renew([[key, 'a']], 10_000);
      await backend.leases.release(key, 'a');
      expect(await backend.leases.acquire(key, 'b', 1, 10_000)).toBe(true);
      const keyPrefix = `${backend.keyPrefix}rate:${randomUUID()}`;
      const limiter = (client: unknown): InstanceType<typeof rateLimiter.RateLimiterRedis> =>
        new rateLimiter.RateLimiterRedis({ storeClient: client, useRedisPackage: true, rejectIfRedisNotReady: true, keyPrefix, points: 2, duration: 60 });
      await limiter(backend.client).consume('client');
      await limiter(backend.client).consume('client');
      // Another instance counts the same key: the third point is refused there.
      const other = await open();
      await expect(limiter(other.quotaBackend!().client).consume('client')).rejects.toMatchObject({ remainingPoints: 0, consumedPoints: 3 });
    });

    it('a topic whose name holds braces keeps its history and byte cap in one slot', async () => {
      const store = await open({ maxTopicBytes: 64 });
      const topic = `a}{b-${randomUUID()}`;
      const ids: string[] = [];
      // Each entry is {"data":"xxxxxxxxxxxxxxxxxxxx"}, 31 bytes: the cap keeps the last two.
      for (let n = 0; n < 5; n++) ids.push(await store.publish(topic, { data: 'x'.repeat(20) }));
      const subscription = store.subscribe(topic, { after: '0-1' })[Symbol.asyncIterator]();
      expect((await subscription.next()).value).toEqual({ id: ids[3], data: 'x'.repeat(20) });
      expect((await subscription.next()).value).toEqual({ id: ids[4], data: 'x'.repeat(20) });
      const live = subscription.next();
      const last = await store.publish(topic, { event: 'note', data: 1 });
      expect((await live).value).toEqual({ id: last, event: 'note', data: 1 });
      await subscription.return?.();
    });
  });
});
