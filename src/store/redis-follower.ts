/**
 * One reader of a Redis stream key (an agent stream's log or a topic's history), for the Redis
 * store. It pages through the history with XRANGE, then joins the instance's shared live feed
 * (one blocking XREAD over every followed key, see redis-reader.ts) and hands out what the feed
 * pushes.
 *
 * Joining without a gap or a duplicate: the follower registers with the feed *first* and then
 * reads the history once more, so an event is either in that last page or arrives through the
 * feed; whatever arrives twice is dropped by comparing entry ids with the follower's position.
 * Agent streams number their entries 1, 2, 3 …, so a follower also sees a hole (events it dropped
 * while it was slow, see {@link MAX_LIVE}) and reads it back from Redis.
 *
 * A slow reader costs bounded memory, whatever the events' sizes: a follower buffers at most
 * {@link MAX_LIVE} live entries and {@link MAX_LIVE_BYTES} of their text; past either it drops its
 * buffer and pages again from the last entry it handed out (Redis keeps the log, so nothing is lost;
 * a topic read that fell behind the topic's capped history goes on from its oldest kept event, as
 * any topic read does). Entries are buffered as Redis returned them and parsed when handed out, so
 * what a follower holds is what came over the wire (a 64 KiB event of `[{},{},…]` takes about
 * 1 MB of heap once parsed), and pages are sized by the entries' length too ({@link PAGE_BYTES}).
 *
 * @module
 */
import { StoreError } from './errors.ts';

/** An entry as the feed and XRANGE give it: its Redis id (`ms-seq`), its size, its value parsed on demand. */
export interface FeedEntry<T> {
  readonly ms: number;
  readonly seq: number;
  /**
   * The entry's length as Redis returned it (its id and fields, mostly the event's JSON text, in
   * UTF-16 code units): what a follower counts against {@link MAX_LIVE_BYTES} and {@link PAGE_BYTES}.
   */
  readonly size: number;
  /** The parsed value (parsed when asked: a buffered entry holds its text only). @throws when the text is no entry of sluice's */
  value(): T;
}

/** What a follower needs from its store; the store is the only one talking to Redis. */
export interface FollowerBackend<T> {
  /** Whether entry ids are 1, 2, 3 … (agent streams) so holes can be seen. */
  readonly consecutive: boolean;
  /** Where to start: checks the key, resolves `after`; `done` when no live part will follow. */
  start(follower: RedisFollower<T>): Promise<{ ms: number; seq: number; done: boolean }>;
  /** Up to `count` entries after the position (XRANGE with an exclusive start). */
  range(ms: number, seq: number, count: number): Promise<FeedEntry<T>[]>;
  /** Whether a value is the last of its key (an agent stream's terminal event). */
  isEnd(value: T): boolean;
  /**
   * Whether a value may follow a hole in the ids: the terminal event the store writes when it lost
   * events (scripts.APPEND), which a follower delivers instead of failing with `trimmed`.
   */
  endsLostLog?(value: T): boolean;
  /** Joins the live feed at a position. */
  follow(follower: RedisFollower<T>, ms: number, seq: number): void;
  /** Leaves the live feed. */
  unfollow(follower: RedisFollower<T>): void;
  /** The read ended (any way): the store stops tracking it. */
  release(follower: RedisFollower<T>): void;
  /** Maps a Redis failure to what the reader sees (a `StoreError`). */
  toError(error: unknown): unknown;
}

/** Entries per XRANGE page, at most (see {@link PAGE_BYTES}). */
export const PAGE = 1000;
/**
 * The size a page aims at: the next page asks for as many entries as fit in it at the size of the
 * entries read last (one at least, {@link PAGE} at most), so a follower paging through large events
 * holds about this much of them, not {@link PAGE} of them.
 */
export const PAGE_BYTES = 1024 * 1024;
/**
 * Live entries a follower buffers before it drops them and reads them back from Redis later, so a
 * slow consumer costs bounded memory (its HTTP response applies backpressure; Redis keeps the log).
 */
export const MAX_LIVE = 10_000;
/**
 * The most entry text (see {@link FeedEntry.size}) a follower buffers live, 1 MiB: past it the
 * follower drops its buffer and pages from Redis, as past {@link MAX_LIVE}. The buffer only smooths
 * the way from the shared reader to a consumer that is a little behind; a consumer a whole MiB
 * behind loses nothing by reading from Redis, and 1 MiB per follower keeps an instance's worst case
 * (`SLUICE_LIMIT_FOLLOWERS`, 256 per key, each behind on a busy topic of its own) at a few hundred
 * MB. It is also a topic's whole history by default (`maxTopicBytes`), and thousands of events of a
 * chat's text. Before this bound, 10,000 entries of 64 KiB parsed could take 11 GB.
 */
export const MAX_LIVE_BYTES = 1024 * 1024;

/**
 * The most slots a follower's emptied live buffer keeps for the next entries: a follower that keeps
 * up (or lags an entry or two) reuses its buffer event after event instead of allocating one; one
 * that had many entries buffered lets the large buffer go once it has handed them out.
 */
const LIVE_REUSED_SLOTS = 64;

/** How many entries the next page asks for, after entries of `average` size. */
function pageCount(average: number): number {
  return Math.max(1, Math.min(PAGE, Math.floor(PAGE_BYTES / Math.max(1, average))));
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };
const DONE_PROMISE = Promise.resolve(DONE);

/** Reads one key: history, then live. Iterate once. */
export class RedisFollower<T> implements AsyncIterableIterator<T> {
  readonly #backend: FollowerBackend<T>;
  readonly #signal: AbortSignal | undefined;
  #ms = 0;
  #seq = 0;
  #replay: FeedEntry<T>[] = [];
  #replayAt = 0;
  /**
   * Live entries not handed out yet: the slots from #liveAt up to #liveEnd. Every other slot is
   * empty (handed-out ones are emptied), kept to be written again (see {@link LIVE_REUSED_SLOTS}).
   */
  #live: (FeedEntry<T> | undefined)[] = [];
  #liveAt = 0;
  #liveEnd = 0;
  /** The size of the entries in #live (see {@link FeedEntry.size}). */
  #liveBytes = 0;
  /** Entries the next page asks for (see {@link PAGE_BYTES}). */
  #pageCount = PAGE;
  #started = false;
  #needFill = true;
  #fetching = false;
  #registered = false;
  /** Nothing more will come live (the stream had ended when the follower started). */
  #noLive = false;
  /** Live entries were dropped since the last page was requested. */
  #dropped = false;
  #done = false;
  #error: unknown = undefined;
  #resolve: ((result: IteratorResult<T>) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  readonly #onAbort = (): void => this.#finish();

  constructor(backend: FollowerBackend<T>, signal: AbortSignal | undefined) {
    this.#backend = backend;
    this.#signal = signal;
    if (signal?.aborted) this.#done = true;
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#done) return DONE_PROMISE;
    if (this.#resolve !== undefined) {
      return Promise.reject(new TypeError('next() was called before the previous call settled; iterate with for await.'));
    }
    const result = this.#pullOrFail();
    if (result !== undefined) return 'error' in result ? Promise.reject(result.error) : Promise.resolve(result);
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#drive();
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#finish();
    return DONE_PROMISE;
  }

  /** The size of the live entries this follower holds (see {@link MAX_LIVE_BYTES}); for tests. */
  get bufferedBytes(): number {
    return this.#liveBytes;
  }

  /** Called by the feed with new entries, in order. */
  push(entries: readonly FeedEntry<T>[]): void {
    if (this.#done) return;
    const live = this.#live;
    // The emptied slots of handed-out entries are reused once they are half of those in use: the
    // entries after them move to the front, in place (no new buffer per push for a reader that lags).
    if (this.#liveAt > 0 && this.#liveAt * 2 >= this.#liveEnd) {
      const end = this.#liveEnd - this.#liveAt;
      live.copyWithin(0, this.#liveAt, this.#liveEnd);
      live.fill(undefined, end, this.#liveEnd);
      this.#liveAt = 0;
      this.#liveEnd = end;
    }
    for (const entry of entries) {
      live[this.#liveEnd++] = entry;
      this.#liveBytes += entry.size;
    }
    const count = this.#liveEnd - this.#liveAt;
    if (count > MAX_LIVE || this.#liveBytes > MAX_LIVE_BYTES) {
      // Too far behind: read from Redis instead, in pages of the size these entries have.
      this.#pageCount = pageCount(this.#liveBytes / count);
      this.#clearLive();
      this.#needFill = true;
      this.#dropped = true;
    }
    if (this.#resolve !== undefined && !this.#fetching) this.#settle();
  }

  /** Ends the read with an error (the feed's connection broke, the stream vanished). */
  fail(error: unknown): void {
    if (this.#done) return;
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#finish();
    if (reject !== undefined) reject(error);
    else this.#error = error;
  }

  /** Ends the read quietly (the store is closing). */
  end(): void {
    this.#finish();
  }

  /** The next value available without waiting, DONE, or undefined when it must wait or fetch. */
  #pull(): IteratorResult<T> | undefined {
    while (this.#replayAt < this.#replay.length) {
      const entry = this.#replay[this.#replayAt++] as FeedEntry<T>;
      if (this.#isNew(entry)) return this.#deliver(entry);
    }
    if (this.#replay.length > 0) {
      this.#replay = [];
      this.#replayAt = 0;
    }
    if (this.#needFill || !this.#started) return undefined;
    if (this.#noLive) {
      this.#finish();
      return DONE;
    }
    const consecutive = this.#backend.consecutive;
    while (this.#liveAt < this.#liveEnd) {
      const entry = this.#live[this.#liveAt] as FeedEntry<T>;
      this.#live[this.#liveAt++] = undefined;
      this.#liveBytes -= entry.size;
      if (!this.#isNew(entry)) continue;
      if (consecutive && entry.ms !== this.#ms + 1) {
        // A hole (entries dropped while slow): read them back from Redis.
        this.#clearLive();
        this.#needFill = true;
        return undefined;
      }
      return this.#deliver(entry);
    }
    // Every entry was handed out (their slots are empty): the buffer is written from its start again.
    if (this.#live.length > LIVE_REUSED_SLOTS) this.#live = [];
    this.#liveAt = 0;
    this.#liveEnd = 0;
    return undefined;
  }

  #clearLive(): void {
    this.#live = [];
    this.#liveAt = 0;
    this.#liveEnd = 0;
    this.#liveBytes = 0;
  }

  #isNew(entry: FeedEntry<T>): boolean {
    return entry.ms > this.#ms || (entry.ms === this.#ms && entry.seq > this.#seq);
  }

  #deliver(entry: FeedEntry<T>): IteratorResult<T> {
    const value = entry.value();
    this.#ms = entry.ms;
    this.#seq = entry.seq;
    if (this.#backend.isEnd(value)) this.#finish();
    return { value, done: false };
  }

  /** {@link RedisFollower.#pull}, an entry that does not parse ending the read with its error. */
  #pullOrFail(): IteratorResult<T> | { error: unknown } | undefined {
    try {
      return this.#pull();
    } catch (error) {
      this.#finish();
      return { error: this.#backend.toError(error) };
    }
  }

  /** Runs the next fetch (start or a page) when one is needed and none is running. */
  #drive(): void {
    if (this.#fetching || this.#done || (this.#started && !this.#needFill)) return;
    this.#fetching = true;
    const step = this.#started ? this.#fill() : this.#start();
    step.then(
      () => {
        this.#fetching = false;
        this.#settle();
      },
      (error: unknown) => {
        this.#fetching = false;
        this.fail(this.#backend.toError(error));
      },
    );
  }

  async #start(): Promise<void> {
    const start = await this.#backend.start(this);
    if (this.#done) return;
    this.#ms = start.ms;
    this.#seq = start.seq;
    this.#noLive = start.done;
    this.#started = true;
  }

  async #fill(): Promise<void> {
    this.#dropped = false;
    const count = this.#pageCount;
    const entries = await this.#backend.range(this.#ms, this.#seq, count);
    if (this.#done) return;
    let bytes = 0;
    for (const entry of entries) bytes += entry.size;
    if (entries.length > 0) this.#pageCount = pageCount(bytes / entries.length);
    const first = entries[0];
    if (this.#backend.consecutive && first !== undefined && first.ms > this.#ms + 1 && this.#backend.endsLostLog?.(first.value()) !== true) {
      throw new StoreError(
        'trimmed',
        `The events after ${this.#ms} are no longer kept: this stream keeps its last events only (maxLen); the oldest kept is ${first.ms}.`,
      );
    }
    this.#replay = entries;
    this.#replayAt = 0;
    if (entries.length === count || this.#dropped) return; // more to read: stay in fill mode
    const last = entries.at(-1);
    if (last !== undefined && this.#backend.isEnd(last.value())) this.#noLive = true;
    if (this.#noLive || this.#registered) {
      this.#needFill = false;
      return;
    }
    // Join the feed, then read once more: whatever was appended in between is in that page.
    this.#registered = true;
    this.#backend.follow(this, this.#ms, this.#seq);
  }

  /** Hands the waiting `next()` its value, or fetches, or keeps waiting for the feed. */
  #settle(): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    if (resolve === undefined) return;
    // Taken out first: delivering the terminal event finishes the follower, which must not resolve this call with DONE.
    this.#resolve = undefined;
    this.#reject = undefined;
    const result = this.#pullOrFail();
    if (result !== undefined) return 'error' in result ? reject?.(result.error) : resolve(result);
    if (this.#done) return resolve(DONE);
    this.#resolve = resolve;
    this.#reject = reject;
    this.#drive();
  }

  #finish(): void {
    if (this.#done && this.#resolve === undefined) return;
    this.#done = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#registered) {
      this.#registered = false;
      this.#backend.unfollow(this);
    }
    this.#backend.release(this);
    this.#clearLive();
    this.#replay = [];
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    resolve?.(DONE);
  }
}
