/**
 * The memory store's bounds hold in real memory: a topic's history and a stream's events that carry
 * a client-shaped value are kept as their JSON text (parsed again for each reader), so a payload of
 * many small objects costs about its counted bytes, not twenty times that; a topic record nothing
 * was published on goes with its last subscriber; and `create()` never walks the topics.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { StreamStore, TopicEvent } from '../src/store/types.ts';
import { collect } from './store-contract.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap in use once garbage is collected. */
function heapUsed(): number {
  for (let n = 0; n < 3; n++) gc();
  return process.memoryUsage().heapUsed;
}

/** `[{},{},…]`: about `bytes` of JSON, and some twenty times that in heap once parsed. */
function emptyObjects(bytes: number): object[] {
  return Array.from({ length: Math.floor(bytes / 3) }, () => ({}));
}

/** The memory store's own view: its counted bytes and its topic records. */
type Inspectable = StreamStore & { readonly bytes: number; readonly topicCount: number };
const inspectable = (store: StreamStore): Inspectable => store as Inspectable;

const FINISH: AgentEvent = { type: 'finish', finishReason: 'stop' };

afterEach(() => {
  vi.useRealTimers();
});

describe('the byte bound holds in heap', () => {
  it('keeps topic histories of [{},{},…] events within 3× the counted bytes of heap, and hands each subscriber events equal to those published', async () => {
    const before = heapUsed();
    const store = inspectable(createMemoryStore({ maxBytes: 256 * 1024 * 1024 }));
    // 8 topics × 32 events of 16 KiB: 4 MiB counted (each topic under its 1 MiB of history).
    for (let topic = 0; topic < 8; topic++) {
      for (let n = 0; n < 32; n++) await store.publish(`t${topic}`, { event: 'tick', data: emptyObjects(16 * 1024) });
    }
    const growth = heapUsed() - before;
    expect(store.bytes).toBeGreaterThan(4 * 1000 * 1000);
    expect(growth).toBeLessThan(3 * store.bytes);

    // Subscribers still get TopicEvent objects equal to what was published, each its own.
    const controller = new AbortController();
    const a = store.subscribe('t0', { after: '30', signal: controller.signal })[Symbol.asyncIterator]();
    const b = store.subscribe('t0', { after: '30', signal: controller.signal })[Symbol.asyncIterator]();
    const [fromA, fromB] = [(await a.next()).value as TopicEvent, (await b.next()).value as TopicEvent];
    expect(fromA).toEqual({ id: '31', event: 'tick', data: emptyObjects(16 * 1024) });
    expect(fromB).toEqual(fromA);
    expect(fromB).not.toBe(fromA);
    controller.abort();
    await store.close();
  });

  it('parses a published event once for all the subscribers it wakes: 200 waiting subscribers of a [{},{},…] event hold one copy, not 200', async () => {
    const store = createMemoryStore();
    const controller = new AbortController();
    const subscribers = Array.from({ length: 200 }, () => store.subscribe('wide', { signal: controller.signal })[Symbol.asyncIterator]());
    // Every subscriber waits (it has read the empty history) before the publish.
    const pending = subscribers.map((subscriber) => subscriber.next());
    const before = heapUsed();
    await store.publish('wide', { data: emptyObjects(64 * 1024) });
    const woken = (await Promise.all(pending)).map((result) => result.value as TopicEvent);
    // One parsed copy (~1.4 MB) for all of them, held while they are: 200 copies would be ~280 MB.
    expect(heapUsed() - before).toBeLessThan(20 * 1024 * 1024);
    expect(new Set(woken).size).toBe(1);
    expect(woken[0]).toEqual({ id: '1', data: emptyObjects(64 * 1024) });
    // The next event goes on from there for each of them.
    const next = subscribers.map((subscriber) => subscriber.next());
    await store.publish('wide', { data: 2 });
    expect((await Promise.all(next)).map((result) => (result.value as TopicEvent).id)).toEqual(Array(200).fill('2'));
    controller.abort();
    await store.close();
  });

  it('shares the newest event with subscribers that read it a moment after the publish (busy with the one before), not a parse each', async () => {
    const store = createMemoryStore();
    const controller = new AbortController();
    const subscribers = Array.from({ length: 50 }, () => store.subscribe('busy', { signal: controller.signal })[Symbol.asyncIterator]());
    const first = subscribers.map((subscriber) => subscriber.next());
    await store.publish('busy', { data: 1 });
    await Promise.all(first);
    // Not waiting when the second event is published: each asks for it a few microtasks later.
    await store.publish('busy', { data: emptyObjects(16 * 1024) });
    const later = await Promise.all(
      subscribers.map(async (subscriber) => {
        for (let n = 0; n < 3; n++) await Promise.resolve();
        return (await subscriber.next()).value as TopicEvent;
      }),
    );
    expect(new Set(later).size).toBe(1);
    expect(later[0]).toEqual({ id: '2', data: emptyObjects(16 * 1024) });
    controller.abort();
    await store.close();
  });

  it('keeps a stream’s tool-call, tool-result and data events of [{},{},…] within 3× the counted bytes of heap, and reads them back equal', async () => {
    const before = heapUsed();
    const store = inspectable(createMemoryStore({ maxBytes: 256 * 1024 * 1024 }));
    const writer = await store.create({ id: 's' });
    for (let n = 0; n < 64; n++) {
      await writer.append({ type: 'tool-call', toolCallId: `c${n}`, toolName: 'echo', input: { items: emptyObjects(16 * 1024) } });
      await writer.append({ type: 'tool-result', toolCallId: `c${n}`, toolName: 'echo', output: emptyObjects(16 * 1024) });
      await writer.append({ type: 'data', name: 'rows', value: emptyObjects(16 * 1024) });
      await writer.append({ type: 'approval-request', approvalId: `a${n}`, toolCallId: `c${n}`, toolName: 'echo', input: emptyObjects(16 * 1024) });
    }
    const growth = heapUsed() - before;
    expect(store.bytes).toBeGreaterThan(4 * 1000 * 1000);
    expect(growth).toBeLessThan(3 * store.bytes);

    await writer.append(FINISH);
    const read = await collect(store.read('s', { after: 252 }));
    expect(read.map((stored) => stored.event)).toEqual([
      { type: 'tool-call', toolCallId: 'c63', toolName: 'echo', input: { items: emptyObjects(16 * 1024) } },
      { type: 'tool-result', toolCallId: 'c63', toolName: 'echo', output: emptyObjects(16 * 1024) },
      { type: 'data', name: 'rows', value: emptyObjects(16 * 1024) },
      { type: 'approval-request', approvalId: 'a63', toolCallId: 'c63', toolName: 'echo', input: emptyObjects(16 * 1024) },
      FINISH,
    ]);
    expect(read.map((stored) => stored.id)).toEqual([253, 254, 255, 256, 257]);
    await store.close();
  });

  it('hands a waiting follower a packed event as it was appended, and a later reader the same event again', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 'live' });
    await writer.append({ type: 'text-start', id: 't' });
    await writer.append({ type: 'text-delta', id: 't', delta: 'a' });
    const reading = collect(store.read('live'));
    const call: AgentEvent = { type: 'tool-call', toolCallId: 'c', toolName: 'x', input: { a: [1, { b: null }] } };
    await writer.append(call);
    await writer.append({ type: 'text-delta', id: 't', delta: 'b' });
    await writer.append(FINISH);
    const expected = [{ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'a' }, call, { type: 'text-delta', id: 't', delta: 'b' }, FINISH];
    expect((await reading).map((stored) => stored.event)).toEqual(expected);
    expect((await collect(store.read('live'))).map((stored) => stored.event)).toEqual(expected);
    // Counted as its JSON text, as before.
    expect(store.bytes).toBe(expected.reduce((sum, event) => sum + JSON.stringify(event).length, 0));
    await store.close();
  });
});

describe('topic records', () => {
  it('leaves no record behind a subscriber to a topic nothing was published on', async () => {
    const store = inspectable(createMemoryStore());
    const controllers = Array.from({ length: 1000 }, () => new AbortController());
    const iterators = controllers.map((controller) => store.subscribe(`unused-${crypto.randomUUID()}`, { signal: controller.signal })[Symbol.asyncIterator]());
    // Some wait for an event, some never asked for one.
    const waiting = iterators.slice(0, 500).map((iterator) => iterator.next());
    expect(store.topicCount).toBe(1000);
    for (const controller of controllers) controller.abort();
    expect(await Promise.all(waiting)).toEqual(waiting.map(() => ({ value: undefined, done: true })));
    expect(store.topicCount).toBe(0);
    expect(store.bytes).toBe(0);

    // Ended by return() or with an aborted signal from the start: the same.
    await store.subscribe('returned')[Symbol.asyncIterator]().return?.();
    store.subscribe('aborted', { signal: AbortSignal.abort() });
    expect(store.topicCount).toBe(0);
    await store.close();
  });

  it('keeps a record while a subscriber is left, and one with a history for ttlMs after its last subscriber leaves', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = inspectable(createMemoryStore({ ttlMs: 60_000 }));
    const first = new AbortController();
    const second = new AbortController();
    store.subscribe('kept', { signal: first.signal });
    store.subscribe('kept', { signal: second.signal });
    first.abort();
    expect(store.topicCount).toBe(1);
    second.abort();
    expect(store.topicCount).toBe(0);

    const subscriber = new AbortController();
    store.subscribe('history', { signal: subscriber.signal });
    await store.publish('history', { data: 1 });
    expect(store.bytes).toBeGreaterThan(0);
    // Subscribed: it never expires.
    vi.setSystemTime(Date.now() + 120_000);
    await (await store.create({ id: 'sweeps-1' })).close();
    expect(store.topicCount).toBe(1);
    subscriber.abort();
    // Unsubscribed: it expires ttlMs after its last subscriber left, not after its last publish.
    vi.setSystemTime(Date.now() + 59_000);
    await (await store.create({ id: 'sweeps-2' })).close();
    expect(store.topicCount).toBe(1);
    const again = store.subscribe('history', { after: '0', signal: AbortSignal.timeout(60_000) })[Symbol.asyncIterator]();
    expect((await again.next()).value).toEqual({ id: '1', data: 1 });
    await again.return?.();
    vi.setSystemTime(Date.now() + 60_000);
    await (await store.create({ id: 'sweeps-3' })).close();
    expect(store.topicCount).toBe(0);
    expect(store.bytes).toBe(0);
    await store.close();
  });

  it('expires topics nobody subscribes to ttlMs after their last publish, oldest first', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = inspectable(createMemoryStore({ ttlMs: 60_000 }));
    await store.publish('a', { data: 'a' });
    vi.setSystemTime(Date.now() + 30_000);
    await store.publish('b', { data: 'b' });
    vi.setSystemTime(Date.now() + 20_000);
    await store.publish('a', { data: 'a2' }); // a is now the newer one
    vi.setSystemTime(Date.now() + 45_000);
    await (await store.create({ id: 'x' })).close();
    expect(store.topicCount).toBe(1);
    vi.setSystemTime(Date.now() + 60_000);
    await (await store.create({ id: 'y' })).close();
    expect(store.topicCount).toBe(0);
    expect(store.bytes).toBe(0);
    await store.close();
  });

  it('does not walk the topics on create(): 100,000 subscribed topics are never iterated', async () => {
    const store = inspectable(createMemoryStore());
    // No signal (one signal with 100,000 listeners is slow to add to): each leaves by return().
    const subscribers = Array.from({ length: 100_000 }, (_, n) => store.subscribe(`idle-${n}`)[Symbol.asyncIterator]());
    for (let n = 0; n < 100; n++) await store.publish(`idle-${n}`, { data: n });
    expect(store.topicCount).toBe(100_000);

    // Every way to walk a Map, watched while create() runs.
    const walked: number[] = [];
    const proto = Map.prototype as unknown as Record<PropertyKey, (this: Map<unknown, unknown>, ...args: unknown[]) => unknown>;
    const names: PropertyKey[] = [Symbol.iterator, 'entries', 'values', 'keys', 'forEach'];
    const originals = names.map((name) => proto[name]!);
    names.forEach((name, at) => {
      const original = originals[at]!;
      proto[name] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
        walked.push(this.size);
        return original.apply(this, args);
      };
    });
    try {
      for (let n = 0; n < 10; n++) await store.create({ id: `s${n}` });
    } finally {
      names.forEach((name, at) => (proto[name] = originals[at]!));
    }
    expect(Math.max(0, ...walked)).toBeLessThan(1000);
    for (const subscriber of subscribers) await subscriber.return?.();
    expect(store.topicCount).toBe(100);
    await store.close();
  });
});
