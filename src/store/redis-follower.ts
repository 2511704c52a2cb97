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
 * @module
 */
import { StoreError } from './errors.ts';

/** An entry as the feed and XRANGE give it: its Redis id (`ms-seq`) and the parsed value. */
export interface FeedEntry<T> {
  readonly ms: number;
  readonly seq: number;
  readonly value: T;
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

/** Entries per XRANGE page. */
export const PAGE = 1000;
/**
 * Live entries a follower buffers before it drops them and reads them back from Redis later, so a
 * slow consumer costs bounded memory (its HTTP response applies backpressure; Redis keeps the log).
 */
export const MAX_LIVE = 10_000;

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
  #live: FeedEntry<T>[] = [];
  #liveAt = 0;
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
    const result = this.#pull();
    if (result !== undefined) return Promise.resolve(result);
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

  /** Called by the feed with new entries, in order. */
  push(entries: readonly FeedEntry<T>[]): void {
    if (this.#done) return;
    for (const entry of entries) this.#live.push(entry);
    if (this.#live.length - this.#liveAt > MAX_LIVE) {
      this.#live = [];
      this.#liveAt = 0;
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
    while (this.#liveAt < this.#live.length) {
      const entry = this.#live[this.#liveAt++] as FeedEntry<T>;
      if (!this.#isNew(entry)) continue;
      if (consecutive && entry.ms !== this.#ms + 1) {
        // A hole (entries dropped while slow): read them back from Redis.
        this.#live = [];
        this.#liveAt = 0;
        this.#needFill = true;
        return undefined;
      }
      return this.#deliver(entry);
    }
    if (this.#live.length > 0) {
      this.#live = [];
      this.#liveAt = 0;
    }
    return undefined;
  }

  #isNew(entry: FeedEntry<T>): boolean {
    return entry.ms > this.#ms || (entry.ms === this.#ms && entry.seq > this.#seq);
  }

  #deliver(entry: FeedEntry<T>): IteratorResult<T> {
    this.#ms = entry.ms;
    this.#seq = entry.seq;
    if (this.#backend.isEnd(entry.value)) this.#finish();
    return { value: entry.value, done: false };
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
    const entries = await this.#backend.range(this.#ms, this.#seq, PAGE);
    if (this.#done) return;
    const first = entries[0];
    if (this.#backend.consecutive && first !== undefined && first.ms > this.#ms + 1 && this.#backend.endsLostLog?.(first.value) !== true) {
      throw new StoreError(
        'trimmed',
        `The events after ${this.#ms} are no longer kept: this stream keeps its last events only (maxLen); the oldest kept is ${first.ms}.`,
      );
    }
    this.#replay = entries;
    this.#replayAt = 0;
    if (entries.length === PAGE || this.#dropped) return; // more to read: stay in fill mode
    const last = entries.at(-1);
    if (last !== undefined && this.#backend.isEnd(last.value)) this.#noLive = true;
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
    const result = this.#pull();
    if (result !== undefined) return resolve(result);
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
    this.#live = [];
    this.#replay = [];
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    resolve?.(DONE);
  }
}
