/**
 * The shared reader of the Redis store: the live tail of every key this instance follows (agent
 * streams' logs, topics), read over one connection and dispatched to the followers (each a
 * RedisFollower, which pages through the history itself and then joins the feed here).
 *
 * - One Redis: one blocking reader that XREADs every followed key at once (woken through a
 *   per-instance wake stream when the key set grows) and dispatches to the followers (#readLoop).
 * - Redis Cluster: the live tail is notified by sharded pub/sub instead of one blocking XREAD
 *   (#pollLoop): every append and topic publish is followed by {@link RedisReader.notify}.
 * - Outages: the followers keep their place and wait up to OUTAGE_BUDGET_MS for Redis to come back
 *   (docs/redis-outage.md), then end with `unavailable`.
 *
 * @module
 */
import type { AgentEvent } from '../protocol/types.ts';
import { StoreError } from './errors.ts';
import { APPEND_RETRY_MS, COMMAND_TIMEOUT_MS, OUTAGE_BUDGET_MS, unref, withTimeout, type Client, type RedisConnection } from './redis-connection.ts';
import type { FeedEntry, RedisFollower } from './redis-follower.ts';
import { decodeTopicEvent } from './topic-event.ts';
import type { StoredEvent, TopicEvent } from './types.ts';

/** Entries per key and XREAD call of the shared reader. */
const XREAD_COUNT = 1000;
/**
 * The least time from one XREAD of the shared reader to the next once entries came: a reader that
 * asks again at once gets an entry or two per XREAD while many streams run, and each XREAD costs
 * Redis and the instance in proportion to the followed keys (all of them), not to the entries.
 * It is the most this adds to an event's way to its followers.
 */
const READ_INTERVAL_MS = 10;
/** How long the shared reader blocks in one XREAD before it asks again. */
const BLOCK_MS = 5000;
/** How long followers wait for the reader's connection before they end with `unavailable`. */
const READER_WAIT_MS = 2000;
/**
 * How often every followed key is read on a cluster besides its notifications (see #pollLoop): the
 * most a notification lost in a reconnect delays its entries.
 */
const CLUSTER_SWEEP_MS = 1000;

/** A Redis stream entry as XRANGE and XREAD reply it. */
export type RawEntry = [id: string, fields: string[]];

/** Splits a Redis stream id `ms-seq`. */
export function parseId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash === -1 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** One followed key of the shared reader. */
export interface Feed {
  readonly key: string;
  readonly kind: 'stream' | 'topic';
  readonly streamId: string;
  ms: number;
  seq: number;
  readonly followers: Set<FeedFollower>;
  /** On a cluster: a read of this key is under way, and another one is wanted after it. */
  reading?: boolean;
  again?: boolean;
  /** On a cluster: the listener of the key's notifications. */
  notified?: (() => void) | undefined;
}

/** What the reader needs of a follower (a {@link RedisFollower} of either kind). */
interface FeedFollower {
  push(entries: readonly FeedEntry<unknown>[]): void;
  fail(error: unknown): void;
  end(): void;
}

/** The shared reader of one store instance (see the module's documentation). */
export class RedisReader {
  readonly #conn: RedisConnection;
  readonly #wakeKey: string;
  readonly #feeds = new Map<string, Feed>();
  /** Every read and subscription not ended yet (in the feed or still paging), ended by close(). */
  readonly #readers = new Set<FeedFollower>();
  #wakeCursor = '0-0';
  #blocked = false;
  /** Since when the shared reader's XREADs fail (undefined while they work). */
  #outageSince: number | undefined;
  #feedAdded: (() => void) | undefined;

  /** @param wakeKey - this instance's wake stream (see #wake) */
  constructor(conn: RedisConnection, wakeKey: string) {
    this.#conn = conn;
    this.#wakeKey = wakeKey;
    (this.#conn.cluster ? this.#pollLoop() : this.#readLoop()).catch((error: unknown) => this.#conn.onError(error));
  }

  /** The followed keys (the lease checks look at the streams among them). */
  get feeds(): ReadonlyMap<string, Feed> {
    return this.#feeds;
  }

  /** Tracks a read from its first `next()` until it ends, so that close() ends it. */
  track<T>(follower: RedisFollower<T>): void {
    if (this.#conn.closed) follower.end();
    else this.#readers.add(follower);
  }

  /** A read ended (any way): no longer ended by close(). */
  release(follower: FeedFollower): void {
    this.#readers.delete(follower);
  }

  /** Up to `count` entries of `key` after `ms-seq` (XRANGE with an exclusive start), parsed when handed out. */
  async range<T extends object>(key: string, ms: number, seq: number, count: number, parse: (id: string, fields: string[]) => T): Promise<FeedEntry<T>[]> {
    const raw = (await this.#conn.command(() => this.#conn.cmd.sendCommand(['XRANGE', key, `(${ms}-${seq}`, '+', 'COUNT', String(count)]))) as RawEntry[];
    return raw.map(([id, fields]) => {
      const [ms, seq] = parseId(id);
      return new LazyEntry(id, ms, seq, fields, parse);
    });
  }

  follow<T extends StoredEvent | TopicEvent>(
    key: string,
    kind: Feed['kind'],
    streamId: string,
    follower: RedisFollower<T>,
    ms: number,
    seq: number,
  ): void {
    if (this.#conn.closed) {
      follower.end();
      return;
    }
    let feed = this.#feeds.get(key);
    if (feed === undefined) {
      feed = { key, kind, streamId, ms, seq, followers: new Set() };
      this.#feeds.set(key, feed);
      this.#wake();
      if (this.#conn.cluster) this.#watch(feed);
    }
    feed.followers.add(follower);
  }

  unfollow<T extends StoredEvent | TopicEvent>(key: string, follower: RedisFollower<T>): void {
    const feed = this.#feeds.get(key);
    if (feed === undefined) return;
    feed.followers.delete(follower);
    // The reader drops the key from its next XREAD.
    if (feed.followers.size === 0) {
      this.#feeds.delete(key);
      if (this.#conn.cluster) this.#unwatch(feed);
    }
  }

  /** Makes the reader include a new key: at once when it waits for one, else by ending its XREAD. */
  #wake(): void {
    const idle = this.#feedAdded;
    if (idle !== undefined) {
      this.#feedAdded = undefined;
      idle();
      return;
    }
    if (!this.#blocked) return; // between two XREADs: the next one has the key
    this.#conn.cmd
      .sendCommand(['XADD', this.#wakeKey, 'MAXLEN', '~', '16', '*', 'w', '1'])
      .then(() => this.#conn.cmd.sendCommand(['PEXPIRE', this.#wakeKey, String(BLOCK_MS * 4)]))
      .catch((error: unknown) =>
        // Redis is unreachable: the reader's XREAD fails too and its followers end with `unavailable`.
        this.#conn.onError(error),
      );
  }

  async #readLoop(): Promise<void> {
    while (!this.#conn.closed) {
      if (this.#feeds.size === 0) {
        await new Promise<void>((resolve) => {
          this.#feedAdded = resolve;
        });
        continue;
      }
      if (!this.#conn.reader.isReady) {
        // Connecting (the store just started) or reconnecting: give it a moment, then tell the followers.
        if (!(await this.#readerReady(READER_WAIT_MS))) {
          this.#failFollowers(new StoreError('unavailable', 'Redis is unreachable; the store reconnects in the background.'));
        }
        continue;
      }
      if (this.#outageSince !== undefined && Date.now() - this.#outageSince >= OUTAGE_BUDGET_MS) {
        // Connected, but every XREAD failed (timed out) for the whole budget: a paused Redis.
        this.#outageSince = undefined;
        this.#failFollowers(new StoreError('unavailable', 'Redis does not answer; the store keeps trying in the background.'));
        continue;
      }
      const feeds = [...this.#feeds.values()];
      const command = ['XREAD', 'COUNT', String(XREAD_COUNT), 'BLOCK', String(BLOCK_MS), 'STREAMS', this.#wakeKey];
      for (const feed of feeds) command.push(feed.key);
      command.push(this.#wakeCursor);
      for (const feed of feeds) command.push(`${feed.ms}-${feed.seq}`);
      let reply: [key: string, entries: RawEntry[]][] | null;
      const readAt = Date.now();
      this.#blocked = true;
      try {
        reply = (await withTimeout(this.#conn.reader.sendCommand(command), BLOCK_MS + COMMAND_TIMEOUT_MS)) as typeof reply;
        this.#outageSince = undefined;
      } catch (error) {
        if (this.#conn.closed) return;
        // An outage: the followers keep their place and wait (up to the budget) for Redis to come
        // back; with its data they go on where they were, without it the lease checks end them
        // (not_found, see RedisTakeover#checkLeases).
        this.#outageSince ??= Date.now();
        const left = OUTAGE_BUDGET_MS - (Date.now() - this.#outageSince);
        if (left <= 0 || !(await this.#readerReady(left, true))) {
          this.#outageSince = undefined;
          this.#failFollowers(this.#conn.toStoreError(error));
        }
        continue;
      } finally {
        this.#blocked = false;
      }
      if (reply === null) continue;
      try {
        this.#dispatch(reply);
      } catch (error) {
        // A bug in a follower must not stop the reader of every other follower.
        this.#conn.onError(error);
      }
      // Entries came: the next XREAD waits for what the next few ms bring (see READ_INTERVAL_MS).
      const wait = readAt + READ_INTERVAL_MS - Date.now();
      if (wait > 0 && !this.#conn.closed) await new Promise((resolve) => unref(setTimeout(resolve, wait)));
    }
  }

  /**
   * The live tail on a Redis Cluster, where an XREAD blocks its connection and may only name keys
   * of one slot: every append (and topic publish) is followed by an SPUBLISH on its key's name
   * (sharded pub/sub: only the key's master carries it), each followed key is SSUBSCRIBEd on the
   * subscriber connection, and a notification reads that key at once without blocking. Besides,
   * every {@link CLUSTER_SWEEP_MS} each followed key is read (a notification lost in a reconnect
   * costs at most that), which also sees an outage: as in #readLoop, the followers wait up to
   * {@link OUTAGE_BUDGET_MS}, then end with `unavailable`.
   */
  async #pollLoop(): Promise<void> {
    while (!this.#conn.closed) {
      if (this.#feeds.size === 0) {
        await new Promise<void>((resolve) => {
          this.#feedAdded = resolve;
        });
        continue;
      }
      if (this.#outageSince !== undefined && Date.now() - this.#outageSince >= OUTAGE_BUDGET_MS) {
        this.#outageSince = undefined;
        this.#failFollowers(new StoreError('unavailable', 'Redis does not answer; the store keeps trying in the background.'));
        continue;
      }
      const results = await Promise.allSettled([...this.#feeds.values()].map((feed) => this.#readFeed(feed)));
      if (this.#conn.closed) return;
      const failed = results.some((result) => result.status === 'rejected');
      if (failed) this.#outageSince ??= Date.now();
      else this.#outageSince = undefined;
      await new Promise((resolve) => setTimeout(resolve, failed ? APPEND_RETRY_MS : CLUSTER_SWEEP_MS));
    }
  }

  /** Reads a followed key's new entries (cluster); a read asked for while one runs runs after it. */
  async #readFeed(feed: Feed): Promise<void> {
    if (feed.reading === true) {
      feed.again = true;
      return;
    }
    feed.reading = true;
    try {
      do {
        feed.again = false;
        const reply = (await this.#conn.bounded(this.#conn.cmd.sendCommand(['XREAD', 'COUNT', String(XREAD_COUNT), 'STREAMS', feed.key, `${feed.ms}-${feed.seq}`]))) as
          | [key: string, entries: RawEntry[]][]
          | null;
        if (this.#conn.closed || this.#feeds.get(feed.key) !== feed || reply === null) return;
        if ((reply[0]?.[1].length ?? 0) >= XREAD_COUNT) feed.again = true;
        try {
          this.#dispatch(reply);
        } catch (error) {
          // A bug in a follower must not stop the reads of every other follower.
          this.#conn.onError(error);
        }
      } while (feed.again === true);
    } finally {
      feed.reading = false;
    }
  }

  /** Cluster: tells the key's followers on every instance that it has new entries. */
  notify(key: string): void {
    if (!this.#conn.cluster) return;
    this.#conn.cmd.sendCommand(['SPUBLISH', key, '']).catch((error: unknown) =>
      // The followers' sweep reads the key within CLUSTER_SWEEP_MS anyway.
      this.#conn.onError(error),
    );
  }

  /** Cluster: listens for a followed key's notifications; once subscribed, reads what came before. */
  #watch(feed: Feed): void {
    feed.notified = (): void => {
      if (this.#feeds.get(feed.key) === feed) this.#readFeed(feed).catch((error: unknown) => this.#conn.onError(error));
    };
    const sub = this.#conn.subscriber();
    // Not connected yet: the subscriber's 'ready' handler subscribes it.
    if (sub.isReady) this.#subscribeFeed(sub, feed);
  }

  #subscribeFeed(sub: Client, feed: Feed): void {
    const listener = feed.notified;
    if (listener === undefined) return;
    sub.sSubscribe(feed.key, listener).then(listener, (error: unknown) => this.#conn.onError(error));
  }

  /** Cluster: stops listening for a key's notifications (this feed's listener only: a newer feed of the key keeps its own). */
  #unwatch(feed: Feed): void {
    const listener = feed.notified;
    if (listener === undefined) return;
    feed.notified = undefined;
    this.#conn.sub?.sUnsubscribe(feed.key, listener).catch((error: unknown) => this.#conn.onError(error));
  }

  /**
   * Resolves true once the reader is connected, false after `ms`. With `settle`, a reader that
   * still looks connected (its socket is open, Redis does not answer) is given a short pause first.
   */
  #readerReady(ms: number, settle = false): Promise<boolean> {
    if (settle && this.#conn.reader.isReady) return new Promise((resolve) => setTimeout(resolve, Math.min(ms, APPEND_RETRY_MS), true));
    return new Promise((resolve) => {
      const done = (ready: boolean): void => {
        this.#conn.reader.off('ready', onReady);
        clearTimeout(timer);
        resolve(ready);
      };
      const onReady = (): void => done(true);
      this.#conn.reader.on('ready', onReady);
      const timer = setTimeout(done, ms, false);
      unref(timer);
    });
  }

  #dispatch(reply: [key: string, entries: RawEntry[]][]): void {
    for (const [key, raw] of reply) {
      if (key === this.#wakeKey) {
        const last = raw.at(-1);
        if (last !== undefined) this.#wakeCursor = last[0];
        continue;
      }
      const feed = this.#feeds.get(key);
      if (feed === undefined) continue;
      const parse = feed.kind === 'stream' ? parseStreamEntry : parseTopicEntry;
      const entries: FeedEntry<unknown>[] = [];
      for (const [id, fields] of raw) {
        const [ms, seq] = parseId(id);
        // At or before the feed's position (dispatched already, or before where a newer feed of the
        // key starts): skipped before an entry is made for it.
        if (ms < feed.ms || (ms === feed.ms && seq <= feed.seq)) continue;
        feed.ms = ms;
        feed.seq = seq;
        const entry = new LazyEntry<object>(id, ms, seq, fields, parse);
        try {
          // Parsed once here: the followers that hand it out now share this parse (see LazyEntry).
          entry.value();
          entries.push(entry);
        } catch (error) {
          // Not written by sluice (or by an incompatible version): skip the entry, say so.
          this.#conn.onError(error);
        }
      }
      if (entries.length === 0) continue;
      for (const follower of feed.followers) follower.push(entries);
    }
  }

  #failFollowers(error: unknown): void {
    const feeds = [...this.#feeds.values()];
    this.#feeds.clear();
    if (this.#conn.cluster) for (const feed of feeds) this.#unwatch(feed);
    for (const feed of feeds) for (const follower of feed.followers) follower.fail(error);
  }

  /**
   * A followed stream expired while it was followed (its keys are gone, see the lease checks): its
   * followers end with `not_found`, unless a newer feed of its key replaced this one.
   */
  expired(feed: Feed): void {
    if (this.#feeds.get(feed.key) !== feed) return;
    this.#feeds.delete(feed.key);
    const error = new StoreError('not_found', `Stream ${JSON.stringify(feed.streamId)} expired while it was followed.`);
    for (const follower of feed.followers) follower.fail(error);
  }

  /** The subscriber (re)connected: a cluster's followed keys (a listener already subscribed is not added twice). */
  resubscribe(sub: Client): void {
    if (this.#conn.cluster) for (const feed of this.#feeds.values()) this.#subscribeFeed(sub, feed);
  }

  /** The store closes: every read ends, the loop stops. */
  close(): void {
    for (const follower of [...this.#readers]) follower.end();
    this.#feeds.clear();
    this.#feedAdded?.();
  }
}

/**
 * An entry as Redis returned it, parsed when a follower hands it out: a follower that buffers it
 * holds its text only (about what came over the wire; parsed, JSON can take 20 times that). The
 * parsed value is kept weakly, so the followers that hand an entry out while it is in use (every
 * follower waiting for the feed's next entry, at once) share one parse, and a follower that buffers
 * it does not keep that parse alive.
 */
class LazyEntry<T extends object> implements FeedEntry<T> {
  readonly ms: number;
  readonly seq: number;
  readonly size: number;
  readonly #id: string;
  readonly #fields: string[];
  readonly #parse: (id: string, fields: string[]) => T;
  #parsed: WeakRef<T> | undefined;

  /** @param ms - `id` split by {@link parseId}, as the caller needed it already, with `seq` */
  constructor(id: string, ms: number, seq: number, fields: string[], parse: (id: string, fields: string[]) => T) {
    this.ms = ms;
    this.seq = seq;
    let size = id.length;
    for (const field of fields) size += field.length;
    this.size = size;
    this.#id = id;
    this.#fields = fields;
    this.#parse = parse;
  }

  value(): T {
    const parsed = this.#parsed?.deref();
    if (parsed !== undefined) return parsed;
    const value = this.#parse(this.#id, this.#fields);
    this.#parsed = new WeakRef(value);
    return value;
  }
}

export function parseStreamEntry(id: string, fields: string[]): StoredEvent {
  return { id: parseId(id)[0], event: JSON.parse(fields[1] as string) as AgentEvent };
}

export function parseTopicEntry(id: string, fields: string[]): TopicEvent {
  return decodeTopicEvent(id, fields[1] as string);
}
