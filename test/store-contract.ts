/**
 * The contract every stream store keeps, as one factory-built suite: test/store-memory.test.ts and
 * test/store-redis.test.ts run it against each backend.
 *
 * @module
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { StoreOptions, StoredEvent, StreamStore, TopicEvent } from '../src/store/types.ts';

/** Two instances of a backend sharing its data (the memory backend: the same store twice). */
export interface ContractStores {
  store: StreamStore;
  other: StreamStore;
  /** Closes both instances and drops the test's keys. */
  close(): Promise<void>;
}

/** Builds fresh stores (a fresh key prefix) with the given options. */
export type MakeStores = (options?: StoreOptions) => Promise<ContractStores>;

/** How long a test waits for something asynchronous before it fails with a message. */
const WAIT = { timeout: 10_000, interval: 10 };

/** The `n`th text delta of a test stream. */
export const delta = (n: number): AgentEvent => ({ type: 'text-delta', id: 't', delta: `d${n}` });
/** The last event of a test stream. */
export const FINISH: AgentEvent = { type: 'finish', finishReason: 'stop' };

function newId(): string {
  return crypto.randomUUID();
}

/** Reads every event until the iterable ends. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** The first result of an iterable (to see whether it rejects). */
async function first<T>(iterable: AsyncIterable<T>): Promise<IteratorResult<T>> {
  const iterator = iterable[Symbol.asyncIterator]();
  try {
    return await iterator.next();
  } finally {
    await iterator.return?.();
  }
}

/** Takes `count` values from an iterator, failing with a message if they do not come in time. */
async function take<T>(iterator: AsyncIterator<T>, count: number, what: string): Promise<T[]> {
  const out: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (got ${out.length} of ${count})`)), WAIT.timeout);
  });
  try {
    while (out.length < count) {
      const result = await Promise.race([iterator.next(), timeout]);
      if (result.done === true) throw new Error(`${what}: the iterator ended after ${out.length} of ${count}`);
      out.push(result.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

const ids = (events: StoredEvent[]): number[] => events.map((stored) => stored.id);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Registers the store contract suite.
 * @param name - the backend's name, shown in the suite title
 * @param makeStores - builds two instances sharing one backend
 */
export function describeStoreContract(name: string, makeStores: MakeStores): void {
  describe(`store contract: ${name}`, () => {
    const open: ContractStores[] = [];
    const make = async (options?: StoreOptions): Promise<ContractStores> => {
      const stores = await makeStores(options);
      open.push(stores);
      return stores;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((stores) => stores.close()));
    });

    it('numbers the events of a stream 1, 2, 3 … and replays them all', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId(), kind: 'job', meta: { chatId: 'c1' }, owner: 'key-a' });
      expect(writer.token).toBeGreaterThan(0);
      const appended: number[] = [];
      for (let n = 1; n <= 5; n++) appended.push(await writer.append(delta(n)));
      appended.push(await writer.append(FINISH));
      expect(appended).toEqual(range(1, 6));
      const events = await collect(store.read(writer.id));
      expect(ids(events)).toEqual(range(1, 6));
      expect(events.map((stored) => stored.event)).toEqual([delta(1), delta(2), delta(3), delta(4), delta(5), FINISH]);
      const info = await store.info(writer.id);
      expect(info).toMatchObject({ id: writer.id, kind: 'job', state: 'done', lastId: 6, meta: { chatId: 'c1' }, owner: 'key-a' });
      expect(info?.createdAt).toBeGreaterThan(Date.now() - 60_000);
    });

    it('appends in call order when the producer does not await each append', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      const pending = range(1, 50).map((n) => writer.append(delta(n)));
      expect(await Promise.all(pending)).toEqual(range(1, 50));
      await writer.append(FINISH);
      const events = await collect(store.read(writer.id));
      expect(events.slice(0, 50).map((stored) => stored.event)).toEqual(range(1, 50).map(delta));
    });

    it('gives a new stream kind chat, no events and state running', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      expect(await store.info(writer.id)).toMatchObject({ kind: 'chat', state: 'running', lastId: 0, meta: {} });
      await writer.append(FINISH);
    });

    it('rejects create with code exists when the id is taken', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      await expect(other.create({ id: writer.id })).rejects.toMatchObject({ code: 'exists', status: 409 });
      await writer.append(FINISH);
    });

    it('rejects an append after the terminal event with code ended', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(FINISH);
      await expect(writer.append(delta(1))).rejects.toMatchObject({ code: 'ended', status: 409 });
      expect((await store.info(writer.id))?.lastId).toBe(1);
    });

    it('replays exactly the events after N, then follows live', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      for (let n = 1; n <= 4; n++) await writer.append(delta(n));
      const iterator = other.read(writer.id, { after: 2 })[Symbol.asyncIterator]();
      expect(ids(await take(iterator, 2, 'the replay'))).toEqual([3, 4]);
      const live = take(iterator, 3, 'the live events');
      await writer.append(delta(5));
      await writer.append(delta(6));
      await writer.append(FINISH);
      const events = await live;
      expect(ids(events)).toEqual([5, 6, 7]);
      expect(events[2]?.event).toEqual(FINISH);
      expect(await iterator.next()).toMatchObject({ done: true });
    });

    it('ends a read of a finished stream after its terminal event', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      await writer.append(FINISH);
      expect(ids(await collect(store.read(writer.id, { after: 1 })))).toEqual([2]);
      expect(await collect(store.read(writer.id, { after: 2 }))).toEqual([]);
    });

    it('refuses a read after an id past the log\'s end with ahead_of_log, running or finished: never clamped to the end', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      await expect(collect(store.read(writer.id, { after: 2 }))).rejects.toMatchObject({ name: 'StoreError', code: 'ahead_of_log', status: 409 });
      await expect(collect(other.read(writer.id, { after: 500 }))).rejects.toMatchObject({ code: 'ahead_of_log' });
      // At the end exactly: the next events, live.
      const live = collect(other.read(writer.id, { after: 1 }));
      await writer.append(delta(2));
      await writer.append(FINISH);
      expect(ids(await live)).toEqual([2, 3]);
      await expect(collect(store.read(writer.id, { after: 4 }))).rejects.toMatchObject({ code: 'ahead_of_log' });
    });

    it('gives two followers the same events in the same order', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      const a = collect(store.read(writer.id));
      const b = collect(other.read(writer.id));
      for (let n = 1; n <= 20; n++) await writer.append(delta(n));
      await writer.append(FINISH);
      const [eventsA, eventsB] = await Promise.all([a, b]);
      expect(ids(eventsA)).toEqual(range(1, 21));
      expect(eventsB).toEqual(eventsA);
    });

    it('ends every follower with the terminal event', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      const followers = [store, other, store, other].map((s) => s.read(writer.id)[Symbol.asyncIterator]());
      for (const follower of followers) expect(ids(await take(follower, 1, 'the first event'))).toEqual([1]);
      const ends = followers.map((follower) => take(follower, 1, 'the terminal event'));
      await writer.append({ type: 'abort', reason: 'user' });
      for (const end of ends) expect(await end).toEqual([{ id: 2, event: { type: 'abort', reason: 'user' } }]);
      for (const follower of followers) expect(await follower.next()).toMatchObject({ done: true });
    });

    it('ends a follower without error when its signal aborts', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      const controller = new AbortController();
      const iterator = store.read(writer.id, { signal: controller.signal })[Symbol.asyncIterator]();
      await take(iterator, 1, 'the first event');
      const pending = iterator.next();
      controller.abort();
      expect(await pending).toMatchObject({ done: true });
      await writer.append(FINISH);
    });

    it('ends waiting followers and subscribers without error when the store closes', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      const iterator = store.read(writer.id)[Symbol.asyncIterator]();
      await take(iterator, 1, 'the first event');
      const pending = iterator.next();
      const topic = store.subscribe(`t-${newId()}`, { after: '0' })[Symbol.asyncIterator]();
      const pendingTopic = topic.next();
      await store.close();
      expect(await pending).toMatchObject({ done: true });
      expect(await pendingTopic).toMatchObject({ done: true });
    });

    it('rejects a second next() while the first one waits, and still delivers to the first', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      const iterator = store.read(writer.id)[Symbol.asyncIterator]();
      await take(iterator, 1, 'the first event');
      const waiting = iterator.next();
      await expect(iterator.next()).rejects.toThrow(TypeError);
      await writer.append(FINISH);
      expect(await waiting).toEqual({ done: false, value: { id: 2, event: FINISH } });
    });

    it('rejects a read of an unknown stream with code not_found', async () => {
      const { store } = await make();
      await expect(first(store.read(newId()))).rejects.toMatchObject({ code: 'not_found', status: 404 });
      expect(await store.info(newId())).toBeUndefined();
      expect(await store.requestStop(newId(), 'user')).toBe(false);
    });

    it('forgets a finished stream after its time to live (not_found)', async () => {
      const { store } = await make({ ttlMs: 200 });
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      await writer.append(FINISH);
      expect(await store.info(writer.id)).toBeDefined();
      await vi.waitFor(async () => expect(await store.info(writer.id)).toBeUndefined(), WAIT);
      await expect(first(store.read(writer.id))).rejects.toMatchObject({ code: 'not_found' });
    });

    it('passes a stop request to the writer, from this instance and from another', async () => {
      const { store, other } = await make();
      for (const requester of [store, other]) {
        const writer = await store.create({ id: newId() });
        const reasons: string[] = [];
        writer.onStop((reason) => reasons.push(reason));
        expect(await requester.requestStop(writer.id, 'user')).toBe(true);
        await vi.waitFor(() => expect(reasons).toEqual(['user']), WAIT);
        await writer.append({ type: 'abort', reason: 'user' });
        expect(await requester.requestStop(writer.id, 'user')).toBe(false);
        expect(reasons).toEqual(['user']);
        await writer.close();
      }
    });

    it('tells a writer that listens late about a stop requested before', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      expect(await other.requestStop(writer.id, 'late')).toBe(true);
      const reasons: string[] = [];
      writer.onStop((reason) => reasons.push(reason));
      await vi.waitFor(() => expect(reasons).toEqual(['late']), WAIT);
      await writer.append({ type: 'abort', reason: 'late' });
      await writer.close();
    });

    it('fences a writer that lost its lease and ends its followers with producer_lost', async () => {
      const { store, other } = await make({ leaseMs: 300, heartbeatMs: 100 });
      const writer = await store.create({ id: newId() });
      await writer.append(delta(1));
      const follower = collect(other.read(writer.id));
      // The writer's heartbeat stops (its instance is going away) without a terminal event.
      await writer.close();
      const events = await follower;
      expect(ids(events)).toEqual([1, 2]);
      expect(events[1]?.event).toMatchObject({ type: 'error', code: 'producer_lost', retryable: true });
      expect(await store.info(writer.id)).toMatchObject({ state: 'done', lastId: 2 });
      await expect(writer.append(delta(2))).rejects.toMatchObject({ code: 'fenced', status: 409 });
      expect(ids(await collect(store.read(writer.id)))).toEqual([1, 2]);
    });

    it('keeps the lease of a writer whose heartbeat runs, however long it is silent', async () => {
      const { store, other } = await make({ leaseMs: 200, heartbeatMs: 50 });
      const writer = await store.create({ id: newId() });
      const iterator = other.read(writer.id)[Symbol.asyncIterator]();
      const next = iterator.next();
      // Three lease times of silence: a negative property, so it takes a fixed wait by nature.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await writer.append(FINISH)).toBe(1);
      expect(await next).toEqual({ done: false, value: { id: 1, event: FINISH } });
    });

    it('knows across instances whether a follower is attached, and since when none is', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      const created = (await store.info(writer.id))?.createdAt;
      expect(await other.detachedSince(writer.id)).toBe(created);
      const detach = other.attach(writer.id);
      await vi.waitFor(async () => expect(await store.detachedSince(writer.id)).toBeUndefined(), WAIT);
      const detach2 = store.attach(writer.id);
      const before = Date.now();
      detach();
      await vi.waitFor(async () => expect(await other.detachedSince(writer.id)).toBeUndefined(), WAIT);
      detach2();
      detach2();
      await vi.waitFor(async () => expect(await other.detachedSince(writer.id)).toBeGreaterThanOrEqual(before), WAIT);
      expect(await store.detachedSince(writer.id)).toBeLessThanOrEqual(Date.now());
      await writer.append(FINISH);
    });

    it('remembers the active stream of a chat per owner, on every instance', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      const chatId = newId();
      expect(await store.getChatStream(chatId)).toBeUndefined();
      await store.setChatStream(chatId, writer.id, 'key-a');
      expect(await other.getChatStream(chatId, 'key-a')).toBe(writer.id);
      expect(await other.getChatStream(chatId, 'key-b')).toBeUndefined();
      expect(await other.getChatStream(chatId)).toBeUndefined();
      await other.setChatStream(chatId, undefined, 'key-a');
      expect(await store.getChatStream(chatId, 'key-a')).toBeUndefined();
      await store.setChatStream(chatId, writer.id);
      expect(await other.getChatStream(chatId)).toBe(writer.id);
      await writer.append(FINISH);
    });

    it('replays a topic after an id from its history, then delivers live events, across instances', async () => {
      const { store, other } = await make();
      const topic = `t-${newId()}`;
      const published: string[] = [];
      for (let n = 1; n <= 3; n++) published.push(await store.publish(topic, { event: 'tick', data: { n } }));
      expect(new Set(published).size).toBe(3);
      const controller = new AbortController();
      const iterator = other.subscribe(topic, { after: published[0] as string, signal: controller.signal })[Symbol.asyncIterator]();
      expect(await take(iterator, 2, 'the topic history')).toEqual([
        { id: published[1], event: 'tick', data: { n: 2 } },
        { id: published[2], event: 'tick', data: { n: 3 } },
      ]);
      const next = take(iterator, 2, 'the live topic events');
      const id4 = await store.publish(topic, { data: { n: 4 } });
      const id5 = await other.publish(topic, { event: 'tock', data: 'five' });
      expect(await next).toEqual([
        { id: id4, data: { n: 4 } },
        { id: id5, event: 'tock', data: 'five' },
      ]);
      const pending = iterator.next();
      controller.abort();
      expect(await pending).toMatchObject({ done: true });
    });

    it('starts a topic subscriber without an id at the live end', async () => {
      const { store, other } = await make();
      const topic = `t-${newId()}`;
      await store.publish(topic, { data: 'old' });
      const controller = new AbortController();
      const iterator = other.subscribe(topic, { signal: controller.signal })[Symbol.asyncIterator]();
      const firstEvent = iterator.next();
      const notYet = Symbol('pending');
      // The subscriber follows from some point after `subscribe()`; publish until it sees one.
      await vi.waitFor(async () => {
        await store.publish(topic, { data: 'new' });
        const settled = await Promise.race([firstEvent, new Promise((resolve) => setTimeout(resolve, 20, notYet))]);
        expect(settled).not.toBe(notYet);
      }, WAIT);
      expect(((await firstEvent) as IteratorYieldResult<TopicEvent>).value.data).toBe('new');
      controller.abort();
      expect(await iterator.next()).toMatchObject({ done: true });
    });

    it('gives a follower that stopped reading while 10,500 events arrived every one of them afterwards', async () => {
      const { store } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(0));
      const slow = store.read(writer.id)[Symbol.asyncIterator]();
      const fast = store.read(writer.id)[Symbol.asyncIterator]();
      await take(slow, 1, 'the slow follower’s first event');
      await take(fast, 1, 'the fast follower’s first event');
      const fastRest = collect({ [Symbol.asyncIterator]: () => fast });
      const appends: Promise<number>[] = [];
      for (let n = 1; n <= 10_500; n++) appends.push(writer.append(delta(n)));
      appends.push(writer.append(FINISH));
      await Promise.all(appends);
      // The fast follower has seen the end, so everything was handed to the slow one's buffer too.
      expect((await fastRest).length).toBe(10_501);
      const rest = await collect({ [Symbol.asyncIterator]: () => slow });
      expect(ids(rest)).toEqual(range(2, 10_502));
      expect(rest.at(-1)?.event).toEqual(FINISH);
    });

    it('loses and duplicates nothing for 200 concurrent followers of a live stream', async () => {
      const { store, other } = await make();
      const writer = await store.create({ id: newId() });
      await writer.append(delta(0));
      const followers = range(1, 200).map((n) => {
        const iterator = (n % 2 === 0 ? store : other).read(writer.id, { after: n % 3 === 0 ? 1 : 0 })[Symbol.asyncIterator]();
        return iterator;
      });
      // Each follower has read or skipped the first event: all of them are live before the producer goes on.
      await Promise.all(followers.map((follower, i) => ((i + 1) % 3 === 0 ? Promise.resolve() : take(follower, 1, 'event 1'))));
      const reads = followers.map((follower) => collect({ [Symbol.asyncIterator]: () => follower }));
      for (let n = 1; n <= 300; n++) {
        const pending = writer.append(delta(n));
        if (n % 10 === 0) await pending;
      }
      await writer.append(FINISH);
      const results = await Promise.all(reads);
      for (const events of results) expect(ids(events)).toEqual(range(2, 302));
      expect(results[0]?.map((stored) => stored.event).at(-1)).toEqual(FINISH);
    });
  });
}
