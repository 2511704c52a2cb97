/**
 * The store's side of takeover (Redis, on a private redis-server): a run's request kept with its log;
 * when its producer's lease lapses, exactly one of the instances that take runs over claims it, with
 * the next fencing token (the old writer is fenced), up to `maxTakeovers`, then `producer_lost`; a
 * writer that hands over is claimed well within a lease; a run without a request ends `producer_lost`
 * as before, and an instance that does not take runs over leaves a resumable run one lease to be claimed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { createRedisStore, type RedisStoreOptions } from '../src/store/redis.ts';
import type { StreamStore, TakeoverClaim } from '../src/store/types.ts';
import { startRedisCluster } from './helpers/redis-cluster.ts';
import { requireRedisServer, startRedisServer } from './helpers/redis-server.ts';
import { collect } from './store-contract.ts';

const WAIT = { timeout: 10_000, interval: 20 };
const LEASE = { leaseMs: 400, heartbeatMs: 100 };
const delta = (n: number): AgentEvent => ({ type: 'text-delta', id: 't', delta: `d${n}` });
const REQUEST = { kind: 'agent', messages: [{ role: 'user', content: 'hi' }], tools: ['calculator'] };

const available = requireRedisServer();

describe.skipIf(!available).each(['a redis-server', 'a 3-master Redis Cluster'])('takeover in the Redis store on %s', (on) => {
  let server: { url: string; close(): Promise<void> };
  const stores: StreamStore[] = [];
  beforeAll(async () => {
    server = on === 'a redis-server' ? await startRedisServer() : await startRedisCluster();
  });
  afterAll(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await server?.close();
  });

  const open = async (keyPrefix: string, options: RedisStoreOptions = {}): Promise<StreamStore> => {
    const store = createRedisStore({ ...LEASE, ...options, keyPrefix, url: server.url });
    stores.push(store);
    await vi.waitFor(async () => expect(await store.ready()).toBe(true), WAIT);
    return store;
  };
  const claims = (store: StreamStore): TakeoverClaim[] => {
    const claimed: TakeoverClaim[] = [];
    store.onTakeover!({ claimed: (claim) => claimed.push(claim) });
    return claimed;
  };

  it('a lost producer: exactly one of three instances claims the run, with token 2, the request and the last id; the old writer is fenced', async () => {
    const prefix = `t:${randomUUID()}:`;
    const producer = await open(prefix);
    const writer = await producer.create({ id: randomUUID(), request: REQUEST, maxTakeovers: 2 });
    await writer.append(delta(1));
    await writer.append(delta(2));
    const others = await Promise.all([open(prefix), open(prefix), open(prefix)]);
    const claimed = others.map(claims);
    // A follower on one of them (its lease check) and the scan of the others race for it.
    const reading = collect(others[0]!.read(writer.id));
    await producer.close(); // the producer dies: no more heartbeats
    await vi.waitFor(() => expect(claimed.flat()).toHaveLength(1), WAIT);
    await new Promise((resolve) => setTimeout(resolve, LEASE.leaseMs * 2));
    expect(claimed.flat()).toHaveLength(1);
    const claim = claimed.flat()[0]!;
    expect(claim).toMatchObject({ lastId: 2, takeovers: 1, maxTakeovers: 2, request: REQUEST });
    expect(claim.writer.token).toBe(2);
    expect(claim.info).toMatchObject({ id: writer.id, state: 'running', token: 2, takeovers: 1 });
    expect(await claim.writer.append(delta(3))).toBe(3);
    await claim.writer.append({ type: 'finish', finishReason: 'stop' });
    expect((await reading).map((stored) => stored.event)).toEqual([delta(1), delta(2), delta(3), { type: 'finish', finishReason: 'stop' }]);
  });

  it('after maxTakeovers the next lost lease ends the run with producer_lost, and `exhausted` is told', async () => {
    const prefix = `t:${randomUUID()}:`;
    const producer = await open(prefix);
    const writer = await producer.create({ id: randomUUID(), request: REQUEST, maxTakeovers: 1 });
    await writer.append(delta(1));
    const taker = await open(prefix);
    const claimed: TakeoverClaim[] = [];
    const exhausted: string[] = [];
    taker.onTakeover!({ claimed: (claim) => claimed.push(claim), exhausted: (id) => exhausted.push(id) });
    await producer.close();
    await vi.waitFor(() => expect(claimed).toHaveLength(1), WAIT);
    // The one who took it over dies too (its writer stops renewing the lease).
    await claimed[0]!.writer.append(delta(2));
    await claimed[0]!.writer.close();
    const events = await collect(taker.read(writer.id));
    expect(events.map((stored) => stored.event.type)).toEqual(['text-delta', 'text-delta', 'error']);
    expect(events.at(-1)?.event).toMatchObject({ code: 'producer_lost' });
    expect(claimed).toHaveLength(1);
    // Told when the script's answer arrives, which may be just after the follower saw the event.
    await vi.waitFor(() => expect(exhausted).toEqual([writer.id]), WAIT);
    expect(await taker.info(writer.id)).toMatchObject({ state: 'done', takeovers: 1 });
  });

  it('a writer that hands over is claimed by another instance well within a lease', async () => {
    const prefix = `t:${randomUUID()}:`;
    const leaseMs = 5000;
    const producer = await open(prefix, { leaseMs, heartbeatMs: 1000 });
    const taker = await open(prefix, { leaseMs, heartbeatMs: 1000 });
    const claimed = claims(taker);
    const writer = await producer.create({ id: randomUUID(), request: REQUEST, maxTakeovers: 2 });
    await writer.append(delta(1));
    const handedAt = performance.now();
    expect(await writer.handOver!()).toBe(true);
    await vi.waitFor(() => expect(claimed).toHaveLength(1), WAIT);
    expect(performance.now() - handedAt).toBeLessThan(leaseMs);
    expect(claimed[0]).toMatchObject({ lastId: 1, takeovers: 1 });
    await expect(writer.append(delta(2))).rejects.toMatchObject({ code: 'fenced' });
  });

  it('a run without a request ends producer_lost as before, even with instances that take runs over', async () => {
    const prefix = `t:${randomUUID()}:`;
    const producer = await open(prefix);
    const taker = await open(prefix);
    const claimed = claims(taker);
    const writer = await producer.create({ id: randomUUID() });
    await writer.append(delta(1));
    await producer.close();
    const events = await collect(taker.read(writer.id));
    expect(events.at(-1)?.event).toMatchObject({ type: 'error', code: 'producer_lost' });
    expect(claimed).toHaveLength(0);
  });

  it('an instance that does not take runs over leaves a resumable run a lease to be claimed, then ends it producer_lost', async () => {
    const prefix = `t:${randomUUID()}:`;
    const producer = await open(prefix);
    const observer = await open(prefix);
    const writer = await producer.create({ id: randomUUID(), request: REQUEST, maxTakeovers: 2 });
    await writer.append(delta(1));
    const reading = collect(observer.read(writer.id));
    await producer.close();
    const closedAt = performance.now();
    const events = await reading;
    expect(performance.now() - closedAt).toBeGreaterThanOrEqual(LEASE.leaseMs * 2 - 50);
    expect(events.at(-1)?.event).toMatchObject({ type: 'error', code: 'producer_lost' });
  });
});

describe('takeover in the memory store', () => {
  it('keeps the interface: info has the token and the count; onTakeover registers (nothing outlives the process to claim)', async () => {
    const store = createMemoryStore();
    const unregister = store.onTakeover!({ claimed: () => expect.unreachable() });
    const writer = await store.create({ id: randomUUID(), request: REQUEST, maxTakeovers: 2 });
    expect(await store.info(writer.id)).toMatchObject({ token: 1, takeovers: 0, state: 'running' });
    expect(writer.handOver).toBeUndefined();
    unregister();
    await store.close();
  });
});
