/**
 * A Redis follower's live buffer, on a backend without Redis: whatever the pace of the feed's pushes
 * and the consumer's reads (a consumer that keeps up, lags an entry or two, or falls far behind),
 * it hands out every entry once, in order; and it keeps at most MAX_LIVE entries and MAX_LIVE_BYTES
 * of them, past either reading from the log again (the emptied slots it reuses change neither).
 */
import { describe, expect, it } from 'vitest';
import { MAX_LIVE, MAX_LIVE_BYTES, RedisFollower, type FeedEntry, type FollowerBackend } from '../src/store/redis-follower.ts';

interface Value {
  readonly n: number;
}

/** A log numbered 1, 2, 3 … (as an agent stream's) and the follower reading it. */
function setup(size = (_n: number): number => 10) {
  const log: FeedEntry<Value>[] = [];
  const ranges: number[] = [];
  let registered = false;
  const backend: FollowerBackend<Value> = {
    consecutive: true,
    start: () => Promise.resolve({ ms: 0, seq: 0, done: false }),
    range: (ms, _seq, count) => {
      ranges.push(ms);
      return Promise.resolve(log.slice(ms, ms + count));
    },
    isEnd: () => false,
    follow: () => {
      registered = true;
    },
    unfollow: () => {},
    release: () => {},
    toError: (error) => error,
  };
  const follower = new RedisFollower(backend, undefined);
  const append = (count: number): FeedEntry<Value>[] => {
    const added: FeedEntry<Value>[] = [];
    for (let k = 0; k < count; k++) {
      const n = log.length + 1;
      const entry: FeedEntry<Value> = { ms: n, seq: 0, size: size(n), value: () => ({ n }) };
      log.push(entry);
      added.push(entry);
    }
    return added;
  };
  /** Once the follower is live in the feed: its first read, which the first push resolves. */
  const live = async (): Promise<{ first: Promise<IteratorResult<Value>> }> => {
    const first = follower.next();
    while (!registered) await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
    return { first };
  };
  return { follower, append, ranges, live, log };
}

/** A seeded generator, so a failure names a pace that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('a Redis follower live buffer', () => {
  it('hands out every pushed entry once, in order, at any pace of pushes and reads', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = random(seed);
      const { follower, append, ranges, live } = setup();
      const { first } = await live();
      follower.push(append(1));
      const got: number[] = [((await first).value as Value).n];
      let pushed = 1;
      for (let round = 0; round < 400; round++) {
        const count = Math.floor(next() * 4);
        follower.push(append(count));
        pushed += count;
        // Reads what is buffered, or a little less: from keeping up to lagging a few entries.
        const reads = Math.min(pushed - got.length, Math.floor(next() * 5));
        for (let k = 0; k < reads; k++) got.push(((await follower.next()).value as Value).n);
      }
      while (got.length < pushed) got.push(((await follower.next()).value as Value).n);
      expect(got, `seed ${seed}`).toEqual(Array.from({ length: pushed }, (_, i) => i + 1));
      expect(follower.bufferedBytes).toBe(0);
      // All of it came through the feed: nothing was read from the log after the follower joined it.
      expect(ranges).toEqual([0, 0]);
      // Once read up, it waits for the next push.
      const waiting = follower.next();
      follower.push(append(1));
      expect(((await waiting).value as Value).n).toBe(pushed + 1);
      await follower.return();
    }
  });

  it('buffers up to MAX_LIVE entries; one more, and it reads them from the log instead: every entry once, in order', async () => {
    const { follower, append, ranges, live } = setup(() => 1);
    const { first } = await live();
    follower.push(append(1));
    await first;
    // A consumer one entry behind, then not reading: the buffer fills up to the bound.
    follower.push(append(2));
    expect(((await follower.next()).value as Value).n).toBe(2);
    follower.push(append(MAX_LIVE - 1));
    expect(follower.bufferedBytes).toBe(MAX_LIVE);
    follower.push(append(1));
    expect(follower.bufferedBytes).toBe(0);
    const got: number[] = [];
    for (let n = 3; n <= MAX_LIVE + 3; n++) got.push(((await follower.next()).value as Value).n);
    expect(got).toEqual(Array.from({ length: MAX_LIVE + 1 }, (_, i) => i + 3));
    // Read from where it stood (entry 2) when it dropped its buffer.
    expect(ranges.slice(2)[0]).toBe(2);
    await follower.return();
  });

  it('buffers up to MAX_LIVE_BYTES; past it, it reads from the log instead: every entry once, in order', async () => {
    const size = 64 * 1024;
    const { follower, append, ranges, live } = setup(() => size);
    const { first } = await live();
    follower.push(append(1));
    await first;
    const fit = MAX_LIVE_BYTES / size;
    for (let k = 0; k < fit; k++) follower.push(append(1));
    expect(follower.bufferedBytes).toBe(MAX_LIVE_BYTES);
    expect(((await follower.next()).value as Value).n).toBe(2);
    // One read: room for one more.
    follower.push(append(1));
    expect(follower.bufferedBytes).toBe(MAX_LIVE_BYTES);
    expect(ranges).toEqual([0, 0]);
    follower.push(append(1));
    expect(follower.bufferedBytes).toBe(0);
    const got: number[] = [];
    for (let n = 3; n <= fit + 3; n++) got.push(((await follower.next()).value as Value).n);
    expect(got).toEqual(Array.from({ length: fit + 1 }, (_, i) => i + 3));
    expect(ranges.slice(2)[0]).toBe(2);
    await follower.return();
  });
});
