/**
 * Lost producers of the Redis store: a stream runs while its writer's `:lease` (renewed by the
 * writer's heartbeat, redis-writer.ts) lives. An instance following a running stream without a lease
 * ends it with `producer_lost` (one Lua step that also bumps the token), or, when it takes runs over
 * (onTakeover, docs/takeover.md) and the run can be, claims it and continues it; the runs nobody
 * follows are scanned for lost producers too.
 *
 * @module
 */
import { StoreError, producerLostEvent } from './errors.ts';
import { SCRIPTS, type RedisConnection } from './redis-connection.ts';
import type { RedisKeys, StreamKeys } from './redis-keys.ts';
import type { RedisReader } from './redis-reader.ts';
import type { RedisWriters } from './redis-writer.ts';
import type { StreamInfo, TakeoverHandler } from './types.ts';

/** The longest pause between two lease checks of a followed stream. */
export const MAX_LEASE_CHECK_MS = 2000;
/** Runs a scan for lost producers looks at, at most (the runs nobody follows here; followed ones are checked with their feed). */
const TAKEOVER_SCAN_BATCH = 50;

/** The lease checks and takeovers of one store instance (see the module's documentation). */
export class RedisTakeover {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #reader: RedisReader;
  readonly #writers: RedisWriters;
  readonly #info: (id: string) => Promise<StreamInfo | undefined>;
  readonly #ttl: string;
  readonly #lease: string;
  readonly #maxLen: string;
  /** The instance's takeover handler (see onTakeover); undefined: this instance never claims a run. */
  #takeoverHandler: TakeoverHandler | undefined;
  #scanCursor = 0;
  #scanning = false;

  /**
   * @param reader - whose followed streams have their leases checked
   * @param writers - where a claimed run's writer goes
   * @param info - a stream's info (handed to the takeover handler)
   */
  constructor(
    conn: RedisConnection,
    keys: RedisKeys,
    reader: RedisReader,
    writers: RedisWriters,
    info: (id: string) => Promise<StreamInfo | undefined>,
    options: { ttl: string; lease: string; maxLen: string },
  ) {
    this.#conn = conn;
    this.#keys = keys;
    this.#reader = reader;
    this.#writers = writers;
    this.#info = info;
    this.#ttl = options.ttl;
    this.#lease = options.lease;
    this.#maxLen = options.maxLen;
  }

  /** Takes over the followed streams whose producer holds no lease (their followers then get `producer_lost`). */
  checkLeases(): void {
    if (!this.#conn.cmd.isReady) return;
    for (const feed of this.#reader.feeds.values()) {
      if (feed.kind !== 'stream') continue;
      this.takeover(this.#keys.stream(feed.streamId), feed.streamId).then(
        (result) => {
          // Expired while it was followed: its followers end with `not_found`.
          if (result === -1) this.#reader.expired(feed);
        },
        (error: unknown) => this.#conn.onError(error),
      );
    }
  }

  /**
   * Checks the lease of a running stream: a lost producer's run is claimed when this instance takes
   * runs over (and the run can be), else ended with `producer_lost` (see the TAKEOVER script).
   * Resolves -1 for an unknown stream, else the last id and whether the stream is done.
   */
  async takeover(keys: StreamKeys, id: string): Promise<-1 | [lastId: number, done: number]> {
    const handler = this.#conn.closed ? undefined : this.#takeoverHandler;
    const result = (await this.#conn.run(SCRIPTS.takeover, [keys.log, keys.state, keys.lease, keys.request], [
      JSON.stringify(producerLostEvent()),
      this.#maxLen,
      this.#ttl,
      handler === undefined ? 'observe' : 'claim',
      String(Date.now()),
      this.#lease,
    ])) as -1 | [number, number, number?, number?, string?, number?];
    if (result === -1) return -1;
    const [lastId, outcome, token, takeovers, request, last] = result;
    // The script ended the stream with producer_lost: a cluster's followers hear of it.
    if (outcome === 1 && result.length > 2) this.#reader.notify(keys.log);
    if (outcome === 2 && handler !== undefined) {
      this.#claimed(handler, id, keys, lastId, token ?? 0, [takeovers ?? 0, last ?? 0], request ?? '');
      return [lastId, 0];
    }
    if (outcome === 1 && last === 1) {
      try {
        this.#takeoverHandler?.exhausted?.(id);
      } catch (error) {
        this.#conn.onError(error);
      }
    }
    return [lastId, outcome === 1 ? 1 : 0];
  }

  /** This instance won a lost producer's lease: its writer now, and the handler continues the run. */
  #claimed(handler: TakeoverHandler, id: string, keys: StreamKeys, lastId: number, token: number, [takeovers, maxTakeovers]: [number, number], request: string): void {
    const writer = this.#writers.adopt(id, token, keys, lastId);
    const hand = async (): Promise<void> => {
      const info = await this.#info(id);
      if (info === undefined) throw new StoreError('not_found', `Stream ${JSON.stringify(id)} expired as it was taken over.`);
      // Unregistered meanwhile (the instance drains): let another instance have it.
      if (this.#takeoverHandler !== handler || this.#conn.closed) {
        await writer.handOver();
        return;
      }
      handler.claimed({ info, writer, request: request === '' ? undefined : (JSON.parse(request) as unknown), lastId, takeovers, maxTakeovers });
    };
    hand().catch((error: unknown) => {
      this.#conn.onError(error);
      // Nobody continues it: end it as a lost producer (our token holds the stream).
      writer.append(producerLostEvent()).catch(() => undefined);
    });
  }

  onTakeover(handler: TakeoverHandler): () => void {
    this.#takeoverHandler = handler;
    return () => {
      if (this.#takeoverHandler === handler) this.#takeoverHandler = undefined;
    };
  }

  /**
   * Looks for lost producers of runs nobody follows on this instance (followed ones are checked with
   * their feed): a bounded batch of the runs that can be taken over per tick, moving on through the
   * set; runs that ended or expired leave it.
   */
  scanTakeovers(): void {
    if (this.#takeoverHandler === undefined || this.#scanning || !this.#conn.cmd.isReady) return;
    this.#scanning = true;
    const scan = async (): Promise<void> => {
      const start = this.#scanCursor;
      const ids = (await this.#conn.command(() =>
        this.#conn.cmd.sendCommand(['ZRANGE', this.#keys.runs, String(start), String(start + TAKEOVER_SCAN_BATCH - 1)]),
      )) as string[];
      this.#scanCursor = ids.length < TAKEOVER_SCAN_BATCH ? 0 : start + ids.length;
      const gone: string[] = [];
      await Promise.all(
        ids.map(async (id) => {
          const keys = this.#keys.stream(id);
          if (this.#reader.feeds.has(keys.log)) return;
          const result = await this.takeover(keys, id);
          if (result === -1 || result[1] === 1) gone.push(id);
        }),
      );
      if (gone.length > 0) await this.#conn.command(() => this.#conn.cmd.sendCommand(['ZREM', this.#keys.runs, ...gone]));
    };
    scan()
      .catch((error: unknown) => this.#conn.onError(error))
      .finally(() => (this.#scanning = false));
  }
}
