import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../src/store/memory.ts';
import { collect, describeStoreContract } from './store-contract.ts';

describeStoreContract('memory', async (options) => {
  const store = createMemoryStore(options);
  return { store, other: store, close: () => store.close() };
});

const text = (size: number) => ({ type: 'text-delta' as const, id: 't', delta: 'x'.repeat(size) });
const FINISH = { type: 'finish' as const, finishReason: 'stop' as const };

describe('memory store bounds', () => {
  it('evicts finished streams, oldest finished first, when over its byte bound', async () => {
    const store = createMemoryStore({ maxBytes: 3000 });
    const a = await store.create({ id: 'a' });
    const b = await store.create({ id: 'b' });
    await b.append(text(900));
    await b.append(FINISH); // b finishes first: it is the oldest finished
    await a.append(text(900));
    await a.append(FINISH);
    const c = await store.create({ id: 'c' });
    await c.append(text(900));
    expect(await store.info('b')).toBeDefined();
    await c.append(text(900)); // over 3000: evicts b only
    expect(await store.info('b')).toBeUndefined();
    expect(await store.info('a')).toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(3000);
    await expect(collect(store.read('b'))).rejects.toMatchObject({ code: 'not_found' });
    await c.append(FINISH);
    await store.close();
  });

  it('refuses appends to running streams with code full when nothing finished is left to evict, but always takes a terminal event', async () => {
    const store = createMemoryStore({ maxBytes: 2000 });
    const a = await store.create({ id: 'a' });
    await a.append(text(1500));
    await expect(a.append(text(600))).rejects.toMatchObject({ code: 'full', status: 503 });
    expect(await a.append({ type: 'error', code: 'full', message: 'store full', retryable: true })).toBe(2);
    expect((await store.info('a'))?.state).toBe('done');
    // Finished now, so it can be evicted to make room for the next stream.
    const b = await store.create({ id: 'b' });
    expect(await b.append(text(600))).toBe(1);
    expect(await store.info('a')).toBeUndefined();
    await b.append(FINISH);
    await store.close();
  });

  it('appendNow appends at once with the ids, checks and wakes of append, and throws what append rejects with', async () => {
    const store = createMemoryStore({ maxBytes: 2000 });
    const writer = await store.create({ id: 'now' });
    expect(writer.appendNow).toBeTypeOf('function');
    const reading = collect(store.read('now'));
    expect(writer.appendNow?.(text(10))).toBe(1);
    expect(await writer.append(text(10))).toBe(2);
    expect(() => writer.appendNow?.(text(1900))).toThrow(expect.objectContaining({ code: 'full' }) as Error);
    expect(writer.appendNow?.(FINISH)).toBe(3);
    expect(() => writer.appendNow?.(text(1))).toThrow(expect.objectContaining({ code: 'ended' }) as Error);
    expect((await reading).map((stored) => stored.event.type)).toEqual(['text-delta', 'text-delta', 'finish']);
    await store.close();
  });

  it('refuses to create a stream with code full while running streams fill the bound', async () => {
    const size = JSON.stringify(text(900)).length;
    const store = createMemoryStore({ maxBytes: 2 * size });
    const a = await store.create({ id: 'a' });
    const b = await store.create({ id: 'b' });
    await a.append(text(900));
    await b.append(text(900));
    expect(store.bytes).toBe(2 * size);
    await expect(store.create({ id: 'c' })).rejects.toMatchObject({ code: 'full', status: 503 });
    await a.append(FINISH);
    const c = await store.create({ id: 'c' });
    expect(await store.info('a')).toBeUndefined();
    await b.append(FINISH);
    await c.append(FINISH);
    await store.close();
  });

  it("counts each stream's stored request and meta and each chat id against the bound, and frees them with the stream", async () => {
    const store = createMemoryStore({ maxBytes: 64 * 1024 });
    const request = { messages: [{ role: 'user', content: 'x'.repeat(10_000) }] };
    const writer = await store.create({ id: 'r', request, meta: { chatId: 'c' } });
    const recorded = JSON.stringify(request).length + JSON.stringify({ chatId: 'c' }).length;
    expect(store.bytes).toBe(recorded);
    await store.setChatStream('chat-1', 'r', 'owner');
    expect(store.bytes).toBeGreaterThan(recorded);
    // Finished streams with large requests are evicted to make room, not kept beyond the bound.
    await writer.append(FINISH);
    for (let i = 0; i < 20; i++) {
      const next = await store.create({ id: `s${i}`, request });
      await next.append(FINISH);
      expect(store.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(await store.info('r')).toBeUndefined();
    await store.setChatStream('chat-1', undefined, 'owner');
    await store.close();
  });

  it('refuses a stream whose request alone does not fit', async () => {
    const store = createMemoryStore({ maxBytes: 4096 });
    await expect(store.create({ id: 'big', request: { messages: [{ role: 'user', content: 'x'.repeat(10_000) }] } })).rejects.toMatchObject({ code: 'full', status: 503 });
    await store.close();
  });

  it('keeps running streams past the time to live, and drops finished ones', async () => {
    const store = createMemoryStore({ ttlMs: 50 });
    const running = await store.create({ id: 'running' });
    const done = await store.create({ id: 'done' });
    await done.append(FINISH);
    const createdAt = Date.now();
    await vi.waitFor(async () => expect(await store.info('done')).toBeUndefined(), { timeout: 5000, interval: 10 });
    expect(Date.now() - createdAt).toBeGreaterThanOrEqual(40);
    expect(await store.info('running')).toMatchObject({ state: 'running' });
    expect(await running.append(text(1))).toBe(1);
    await store.close();
  });

  it('keeps the last topicHistory events of a topic and skips a subscriber that fell behind to the oldest kept', async () => {
    const store = createMemoryStore({ topicHistory: 3 });
    for (let n = 1; n <= 5; n++) await store.publish('t', { data: n });
    const controller = new AbortController();
    const iterator = store.subscribe('t', { after: '0', signal: controller.signal })[Symbol.asyncIterator]();
    const got = [];
    for (let n = 0; n < 3; n++) got.push((await iterator.next()).value);
    expect(got).toEqual([
      { id: '3', data: 3 },
      { id: '4', data: 4 },
      { id: '5', data: 5 },
    ]);
    controller.abort();
    await store.close();
  });

  it('rejects bad options and bad ids at the call', () => {
    expect(() => createMemoryStore({ ttlMs: 0 })).toThrow(RangeError);
    expect(() => createMemoryStore({ maxBytes: Number.NaN })).toThrow(RangeError);
    const store = createMemoryStore();
    expect(() => store.read('x', { after: -1 })).toThrow(RangeError);
    expect(() => store.read('x', { after: 1.5 })).toThrow(RangeError);
    void store.close();
  });
});
