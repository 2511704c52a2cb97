/**
 * The stores' approval methods, one suite for memory and Redis (a private redis-server; with
 * Redis, the answer is given through a second store instance, as another sluice instance would):
 * the first answer wins, an answer given before the wait is found, an unknown approval is
 * not_found, a wait ends with its signal, several approvals of one stream wait side by side.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../src/store/memory.ts';
import { createRedisStore } from '../src/store/redis.ts';
import type { StreamStore } from '../src/store/types.ts';
import { startRedisCluster } from './helpers/redis-cluster.ts';
import { requireRedisServer, startRedisServer } from './helpers/redis-server.ts';

interface Pair {
  /** The producer's store. */
  store: StreamStore;
  /** Where answers come from (another instance with Redis; the same store with memory). */
  other: StreamStore;
}

function describeApprovals(name: string, open: () => Promise<Pair>): void {
  describe(`${name}: approvals`, () => {
    it('an answer from the other instance wakes the waiting producer; the first answer wins', async () => {
      const { store, other } = await open();
      const writer = await store.create({ id: randomUUID() });
      await store.openApproval(writer.id, 'a1');
      const waiting = store.waitApproval(writer.id, 'a1');
      expect(await other.answerApproval(writer.id, 'a1', { approved: true, reason: 'fine' })).toBe('answered');
      await expect(waiting).resolves.toEqual({ approved: true, reason: 'fine' });
      expect(await store.answerApproval(writer.id, 'a1', { approved: false })).toBe('already_answered');
      // A wait that starts after the answer finds it at once.
      await expect(store.waitApproval(writer.id, 'a1')).resolves.toEqual({ approved: true, reason: 'fine' });
    });

    it('an unknown approval or stream is not_found, for answers and waits', async () => {
      const { store, other } = await open();
      const writer = await store.create({ id: randomUUID() });
      expect(await other.answerApproval(writer.id, 'nope', { approved: true })).toBe('not_found');
      expect(await other.answerApproval(randomUUID(), 'nope', { approved: true })).toBe('not_found');
      await expect(store.waitApproval(writer.id, 'nope')).rejects.toMatchObject({ code: 'not_found' });
    });

    it('a wait ends with its signal, and the approval can still be answered afterwards', async () => {
      const { store, other } = await open();
      const writer = await store.create({ id: randomUUID() });
      await store.openApproval(writer.id, 'a2');
      const controller = new AbortController();
      const waiting = store.waitApproval(writer.id, 'a2', { signal: controller.signal });
      controller.abort(new Error('stopped'));
      await expect(waiting).rejects.toThrow('stopped');
      expect(await other.answerApproval(writer.id, 'a2', { approved: false })).toBe('answered');
    });

    it('many approvals of one stream wait side by side and each gets its own answer', async () => {
      const { store, other } = await open();
      const writer = await store.create({ id: randomUUID() });
      const ids = Array.from({ length: 5 }, (_, i) => `m${i}`);
      for (const id of ids) await store.openApproval(writer.id, id);
      const waits = ids.map((id) => store.waitApproval(writer.id, id));
      await Promise.all(ids.map((id, i) => other.answerApproval(writer.id, id, { approved: i % 2 === 0 })));
      expect((await Promise.all(waits)).map((answer) => answer.approved)).toEqual([true, false, true, false, true]);
    });
  });
}

describeApprovals('memory', () => {
  const store = createMemoryStore();
  return Promise.resolve({ store, other: store });
});

const available = requireRedisServer();
describe.skipIf(!available).each(['a redis-server', 'a 3-master Redis Cluster'])('redis on %s', (on) => {
  let server: { url: string; close(): Promise<void> };
  const stores: StreamStore[] = [];
  beforeAll(async () => {
    server = on === 'a redis-server' ? await startRedisServer() : await startRedisCluster();
  });
  afterAll(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await server?.close();
  });
  const connect = async (keyPrefix: string): Promise<StreamStore> => {
    const store = createRedisStore({ url: server.url, keyPrefix });
    stores.push(store);
    await vi.waitFor(async () => expect(await store.ready()).toBe(true), { timeout: 10_000 });
    return store;
  };
  describeApprovals('redis (two store instances)', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    return { store: await connect(keyPrefix), other: await connect(keyPrefix) };
  });
});
