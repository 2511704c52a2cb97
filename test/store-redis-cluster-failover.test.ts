/**
 * A Redis Cluster failover under a running stream: 3 masters with a replica each
 * (`cluster-node-timeout` 1 s), the master serving the stream killed with SIGKILL mid-stream. Its
 * replica takes its place; the writer's next appends wait for it (within the outage budget) and
 * the stream goes on with the same ids, every event once for a follower on another instance.
 * node-redis refreshes its slot map only on a MOVED reply, which a dead master never sends: without
 * the store's refresh on a failed command the appends fail for good. Slow: in the `timing` project.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisStore } from '../src/store/redis.ts';
import type { StreamStore } from '../src/store/types.ts';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.ts';
import { requireRedisServer } from './helpers/redis-server.ts';
import { collect, delta, FINISH } from './store-contract.ts';

const available = requireRedisServer();

describe.skipIf(!available)('a Redis Cluster failover under a running stream', () => {
  let cluster: RedisCluster;
  const stores: StreamStore[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 1000 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await cluster?.close();
  });

  it('the replica takes the killed master\'s place: the stream goes on with the same ids, every event once for a follower', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const [a, b] = [createRedisStore({ url: cluster.url, keyPrefix }), createRedisStore({ url: cluster.url, keyPrefix })];
    stores.push(a, b);
    for (const store of [a, b]) await vi.waitFor(async () => expect(await store.ready()).toBe(true), { timeout: 10_000 });
    const id = randomUUID();
    const writer = await a.create({ id });
    const following = collect(b.read(id));
    for (let n = 1; n <= 5; n++) expect(await writer.append(delta(n))).toBe(n);
    const master = await cluster.masterOf(`${keyPrefix}{${id}}:log`);
    await cluster.kill(master);
    // Each append retries for up to the outage budget (5 s): the failover (about 2 s) fits in it.
    for (let n = 6; n <= 10; n++) expect(await writer.append(delta(n))).toBe(n);
    expect(await writer.append(FINISH)).toBe(11);
    expect(await cluster.masterOf(`${keyPrefix}{${id}}:log`)).not.toBe(master);
    expect((await following).map((stored) => stored.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await vi.waitFor(async () => expect(await a.ready()).toBe(true), { timeout: 10_000 });
  });
});
