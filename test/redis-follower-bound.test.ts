/**
 * A follower of the Redis store whose consumer stops reading while large events keep coming: what it
 * buffers stays under MAX_LIVE_BYTES (it drops its buffer and pages from Redis again), and reading
 * it afterwards loses nothing — every event of a stream in order; on a topic every event the topic
 * still keeps, in order (a topic read that fell behind its capped history goes on from its oldest
 * kept event, like any topic read).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { MAX_LIVE_BYTES, type RedisFollower } from '../src/store/redis-follower.ts';
import type { StoredEvent, StreamStore, TopicEvent } from '../src/store/types.ts';
import { redisStores } from './helpers/redis-stores.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { FINISH } from './store-contract.ts';

const available = requireRedisServer();

/** About 64 KiB of JSON per event, as a publish may carry (SLUICE_MAX_EVENT_BYTES). */
const BIG = 64 * 1024;
/** Events to append while the consumer does not read: their text is several times the bound. */
const COUNT = 48;

const bigDelta = (n: number): AgentEvent => ({ type: 'text-delta', id: 't', delta: `${n}:${'x'.repeat(BIG)}` });
const bigData = (n: number): { n: number; pad: string } => ({ n, pad: 'y'.repeat(BIG) });

/** Waits for the shared reader to have dispatched what was just written (it reads every 10 ms at most). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));

/** The follower behind a store's read (bufferedBytes is its internal counter). */
const followerOf = <T>(iterator: AsyncIterator<T>): RedisFollower<T> => iterator as RedisFollower<T>;

/**
 * A subscription to a new topic that has read its history (event 0) and then an event it waited for
 * (event 1): it is in the shared reader's feed, not paging. Resolves with event 0's id.
 */
async function liveSubscription(store: StreamStore, topic: string): Promise<{ iterator: AsyncIterator<TopicEvent>; firstId: string }> {
  const firstId = await store.publish(topic, { data: bigData(0) });
  const iterator = store.subscribe(topic, { after: '0' })[Symbol.asyncIterator]();
  expect((await iterator.next()).value).toEqual({ id: firstId, data: bigData(0) });
  const second = iterator.next();
  const secondId = await store.publish(topic, { data: bigData(1) });
  expect((await second).value).toEqual({ id: secondId, data: bigData(1) });
  return { iterator, firstId };
}

describe.skipIf(!available)('a Redis follower whose consumer falls behind on large events', () => {
  let server: RedisServer;
  const stores = redisStores(() => server.url);
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await stores.closeAll();
    await server.close();
  });

  it('buffers at most MAX_LIVE_BYTES of a stream, then reads it from Redis: every event once, in order', async () => {
    const store = await stores.open();
    const writer = await store.create({ id: randomUUID() });
    writer.onStop(() => {});
    await writer.append(bigDelta(1));
    const iterator = store.read(writer.id)[Symbol.asyncIterator]();
    // Read once, then wait for the next event: the follower is live in the shared feed.
    expect((await iterator.next()).value).toEqual({ id: 1, event: bigDelta(1) });
    const second = iterator.next();
    await writer.append(bigDelta(2));
    expect((await second).value).toEqual({ id: 2, event: bigDelta(2) });
    const follower = followerOf(iterator);
    let most = 0;
    for (let n = 3; n < 3 + COUNT; n++) {
      await writer.append(bigDelta(n));
      await settle();
      most = Math.max(most, follower.bufferedBytes);
      expect(follower.bufferedBytes).toBeLessThanOrEqual(MAX_LIVE_BYTES);
    }
    await writer.append(FINISH);
    // The live buffer was in use (not a follower that never joined the feed), and never past the bound.
    expect(most).toBeGreaterThan(MAX_LIVE_BYTES / 2);
    expect(most).toBeLessThanOrEqual(MAX_LIVE_BYTES);
    const rest: StoredEvent[] = [];
    for (let result = await iterator.next(); result.done !== true; result = await iterator.next()) rest.push(result.value);
    expect(rest.map((stored) => stored.id)).toEqual(Array.from({ length: COUNT + 1 }, (_, i) => i + 3));
    rest.slice(0, -1).forEach((stored, i) => expect(stored.event).toEqual(bigDelta(i + 3)));
    expect(rest.at(-1)?.event).toEqual(FINISH);
    expect(follower.bufferedBytes).toBe(0);
  });

  it('on a topic that keeps them all: every event once, in order', async () => {
    const store = await stores.open({ maxTopicBytes: 16 * 1024 * 1024 });
    const topic = `t-${randomUUID()}`;
    const { iterator, firstId } = await liveSubscription(store, topic);
    const follower = followerOf(iterator);
    const ids: string[] = [];
    let most = 0;
    for (let n = 2; n < 2 + COUNT; n++) {
      ids.push(await store.publish(topic, { data: bigData(n) }));
      await settle();
      most = Math.max(most, follower.bufferedBytes);
      expect(follower.bufferedBytes).toBeLessThanOrEqual(MAX_LIVE_BYTES);
    }
    expect(most).toBeGreaterThan(MAX_LIVE_BYTES / 2);
    const rest: TopicEvent[] = [];
    while (rest.length < COUNT) rest.push((await iterator.next()).value as TopicEvent);
    expect(rest.map((event) => event.id)).toEqual(ids);
    rest.forEach((event, i) => expect(event.data).toEqual(bigData(i + 2)));
    expect(firstId).not.toBe(ids[0]);
    await iterator.return?.();
  });

  it('on a topic whose capped history dropped some: from its oldest kept event on, in order, as a new read from the start gets them', async () => {
    // The default cap (1 MiB) keeps about 15 of these events.
    const store = await stores.open();
    const topic = `t-${randomUUID()}`;
    const { iterator, firstId } = await liveSubscription(store, topic);
    const follower = followerOf(iterator);
    const ids: string[] = [];
    for (let n = 2; n < 2 + COUNT; n++) {
      ids.push(await store.publish(topic, { data: bigData(n) }));
      await settle();
      expect(follower.bufferedBytes).toBeLessThanOrEqual(MAX_LIVE_BYTES);
    }
    // What the topic keeps now, read by a new subscriber from before its first event.
    const fresh = store.subscribe(topic, { after: firstId })[Symbol.asyncIterator]();
    const kept: TopicEvent[] = [];
    while (kept.at(-1)?.id !== ids.at(-1)) kept.push((await fresh.next()).value as TopicEvent);
    await fresh.return?.();
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.length).toBeLessThan(COUNT);
    const rest: TopicEvent[] = [];
    while (rest.at(-1)?.id !== ids.at(-1)) rest.push((await iterator.next()).value as TopicEvent);
    await iterator.return?.();
    // Not the events it had buffered and the topic no longer keeps: the kept ones, a suffix of what was published.
    expect(rest).toEqual(kept);
    expect(rest.map((event) => event.id)).toEqual(ids.slice(-rest.length));
    rest.forEach((event) => expect(event.data).toEqual(bigData(ids.indexOf(event.id) + 2)));
  });
});
