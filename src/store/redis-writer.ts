/**
 * The producers of the Redis store: the writers this instance holds, their appends, their leases'
 * heartbeat and the stop requests they listen for.
 *
 * - Log: a Redis stream per agent stream, entry `<n>-0` for event n, written by a Lua script that
 *   checks the writer's fencing token, so ids are 1, 2, 3 … and a stale producer is refused.
 * - Appends: the appends of one tick, of every stream the instance writes, are one APPEND script
 *   call (one command and one script run for them all; on a cluster, one per append). The script
 *   refuses a log that is behind its writer and ends the stream (`store_lost_events`, see scripts.APPEND).
 * - Lease: `:lease` holds the writer's token with a PX time to live, renewed by one heartbeat
 *   timer per instance (see {@link RedisWriters.heartbeat}; a producer that stops renewing it is
 *   found by the other side, redis-takeover.ts).
 * - Stop requests: one subscription per listening writer on the instance's subscriber connection,
 *   and the state hash for a request published while it was not subscribed.
 *
 * @module
 */
import { isTerminalEvent, type AgentEvent } from '../protocol/types.ts';
import { StoreError, isStoreError } from './errors.ts';
import { APPEND_RETRY_MS, OUTAGE_BUDGET_MS, SCRIPTS, type Client, type RedisConnection } from './redis-connection.ts';
import type { RedisKeys, StreamKeys } from './redis-keys.ts';
import type { RedisReader } from './redis-reader.ts';
import * as scripts from './redis-scripts.ts';
import type { CreateStreamOptions, StreamWriter } from './types.ts';

/** An append waiting for this tick's script call (see RedisWriters#flushAppends). */
interface PendingAppend {
  readonly writer: RedisWriter;
  readonly json: string;
  readonly terminal: boolean;
  readonly expected: number;
  readonly resolve: (id: number) => void;
  readonly reject: (error: unknown) => void;
}

/** The most appends one script call carries (a longer script would hold Redis up for other clients). */
const APPEND_BATCH = 500;

/** The producer's handle on a Redis stream. */
class RedisWriter implements StreamWriter {
  readonly id: string;
  readonly token: number;
  readonly keys: StreamKeys;
  readonly #writers: RedisWriters;
  readonly #listeners = new Set<(reason: string) => void>();
  #stopReason: string | undefined;
  #subscribed = false;
  /** The id the last append asked for: each append expects the next (what makes a retried append idempotent). */
  #asked = 0;

  /** The id the last append asked for. */
  get asked(): number {
    return this.#asked;
  }

  /** @param lastId - the log's last id when this writer got the stream (a takeover continues after it) */
  constructor(writers: RedisWriters, id: string, token: number, keys: StreamKeys, lastId = 0) {
    this.#writers = writers;
    this.id = id;
    this.token = token;
    this.keys = keys;
    this.#asked = lastId;
  }

  append(event: AgentEvent): Promise<number> {
    const terminal = isTerminalEvent(event);
    const appended = this.#writers.appendFor(this, JSON.stringify(event), terminal, ++this.#asked);
    if (terminal) appended.then(() => this.#release(), () => this.#release());
    return appended;
  }

  onStop(listener: (reason: string) => void): () => void {
    let active = true;
    const once = (reason: string): void => {
      if (!active) return;
      active = false;
      this.#listeners.delete(once);
      listener(reason);
    };
    const reason = this.#stopReason;
    if (reason !== undefined) queueMicrotask(() => once(reason));
    else {
      this.#listeners.add(once);
      if (!this.#subscribed) {
        this.#subscribed = true;
        this.#writers.subscribeStop(this);
      }
    }
    return () => {
      active = false;
      this.#listeners.delete(once);
    };
  }

  /** A stop request arrived (published, or found in the state hash). */
  stopped(reason: string): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = reason;
    for (const listener of [...this.#listeners]) listener(reason);
  }

  /** Whether anyone still listens for a stop request. */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  close(): Promise<void> {
    this.#release();
    return Promise.resolve();
  }

  async handOver(): Promise<boolean> {
    this.#release();
    return this.#writers.handOver(this);
  }

  #release(): void {
    this.#listeners.clear();
    this.#writers.releaseWriter(this, this.#subscribed);
    this.#subscribed = false;
  }
}

/** The writers of one store instance (see the module's documentation). */
export class RedisWriters {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #reader: RedisReader;
  readonly #ttl: string;
  readonly #lease: string;
  readonly #maxLen: string;
  readonly #writers = new Set<RedisWriter>();
  readonly #stopWriters = new Map<string, RedisWriter>();
  /** The stop channels subscribed (or being subscribed) on the subscriber connection. */
  readonly #channels = new Set<string>();
  /** The appends of this tick, sent together by #flushAppends (one Redis only, not a cluster). */
  #appends: PendingAppend[] = [];

  /** @param reader - notified of every append (on a cluster, see RedisReader.notify) */
  constructor(conn: RedisConnection, keys: RedisKeys, reader: RedisReader, options: { ttl: string; lease: string; maxLen: string }) {
    this.#conn = conn;
    this.#keys = keys;
    this.#reader = reader;
    this.#ttl = options.ttl;
    this.#lease = options.lease;
    this.#maxLen = options.maxLen;
  }

  async create(options: CreateStreamOptions): Promise<StreamWriter> {
    const keys = this.#keys.stream(options.id);
    const request = options.request === undefined ? '' : JSON.stringify(options.request);
    const created = await this.#conn.run(SCRIPTS.create, [keys.state, keys.lease, keys.request], [
      options.kind ?? 'chat',
      JSON.stringify(options.meta ?? {}),
      String(Date.now()),
      options.owner ?? '',
      options.owner === undefined ? '0' : '1',
      this.#ttl,
      this.#lease,
      request,
      String(Math.max(0, Math.floor(options.maxTakeovers ?? 0))),
    ]);
    if (created === 0) throw new StoreError('exists', `A stream with id ${JSON.stringify(options.id)} exists already.`);
    if (request !== '') {
      // Scanned by the instances that take runs over, for a lost producer nobody follows.
      await this.#conn.command(() => this.#conn.cmd.sendCommand(['ZADD', this.#keys.runs, String(Date.now()), options.id]));
    }
    const writer = new RedisWriter(this, options.id, 1, keys);
    this.#writers.add(writer);
    return writer;
  }

  /** A stream this instance took over (see RedisTakeover): its writer, continuing after `lastId`. */
  adopt(id: string, token: number, keys: StreamKeys, lastId: number): RedisWriter {
    const writer = new RedisWriter(this, id, token, keys, lastId);
    this.#writers.add(writer);
    return writer;
  }

  /**
   * Appends for `writer`; resolves with the event's id. While Redis is unreachable the append is
   * retried for up to {@link OUTAGE_BUDGET_MS}; `expected` (the writer's n-th append expects id n)
   * makes a retry of an append that did land (its reply was lost) return that id, never append twice,
   * and a log that lost events the writer had appended end the stream (see scripts.APPEND).
   */
  appendFor(writer: RedisWriter, json: string, terminal: boolean, expected: number): Promise<number> {
    // A cluster routes each script call by its keys' slot: one call per append there.
    if (this.#conn.cluster) return this.#appendOne(writer, json, terminal, expected, Date.now() + OUTAGE_BUDGET_MS);
    return new Promise<number>((resolve, reject) => {
      this.#appends.push({ writer, json, terminal, expected, resolve, reject });
      if (this.#appends.length === 1) setImmediate(this.#flushAppends);
    });
  }

  /**
   * Sends the appends of this tick, of every stream this instance writes, in one script call (up to
   * {@link APPEND_BATCH} each): one command, one reply and one script run for them all instead of
   * one each. A call that fails (Redis unreachable, a script error) hands each of its appends to
   * {@link #appendOne}, which retries it alone; an append of the failed call that had landed is
   * recognised there by its expected id.
   */
  readonly #flushAppends = (): void => {
    const appends = this.#appends;
    this.#appends = [];
    const giveUpAt = Date.now() + OUTAGE_BUDGET_MS;
    for (let start = 0; start < appends.length; start += APPEND_BATCH) {
      const batch = appends.length <= APPEND_BATCH ? appends : appends.slice(start, start + APPEND_BATCH);
      const keys: string[] = [];
      const args = [this.#maxLen, this.#ttl];
      for (const { writer, json, terminal, expected } of batch) {
        keys.push(writer.keys.log, writer.keys.state, writer.keys.lease);
        args.push(String(writer.token), json, terminal ? '1' : '0', String(expected));
      }
      this.#conn.run(SCRIPTS.append, keys, args).then(
        (results) => {
          const ids = results as (number | string)[];
          for (let i = 0; i < batch.length; i++) {
            const append = batch[i] as PendingAppend;
            try {
              append.resolve(this.#appended(append.writer, ids[i]));
            } catch (error) {
              if (isStoreError(error) && error.code === 'fenced') this.#writers.delete(append.writer);
              append.reject(error);
            }
          }
        },
        () => {
          for (const { writer, json, terminal, expected, resolve, reject } of batch) this.#appendOne(writer, json, terminal, expected, giveUpAt).then(resolve, reject);
        },
      );
    }
  };

  /** One append in a script call of its own, retried while Redis is unreachable until `giveUpAt`. */
  async #appendOne(writer: RedisWriter, json: string, terminal: boolean, expected: number, giveUpAt: number): Promise<number> {
    const { keys } = writer;
    const args = [this.#maxLen, this.#ttl, String(writer.token), json, terminal ? '1' : '0', String(expected)];
    for (;;) {
      try {
        const [result] = (await this.#conn.run(SCRIPTS.append, [keys.log, keys.state, keys.lease], args)) as (number | string)[];
        const id = this.#appended(writer, result);
        this.#reader.notify(keys.log);
        return id;
      } catch (error) {
        if (isStoreError(error) && error.code === 'fenced') this.#writers.delete(writer);
        if (!isStoreError(error) || error.code !== 'unavailable' || this.#conn.closed || Date.now() + APPEND_RETRY_MS >= giveUpAt) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, APPEND_RETRY_MS));
    }
  }

  /** One result of the APPEND script: the id, or its refusal thrown as a {@link StoreError}. */
  #appended(writer: RedisWriter, result: number | string | undefined): number {
    if (typeof result === 'number') return result;
    if (typeof result === 'string' && result.startsWith(scripts.LOST_PREFIX)) {
      // The script ended the stream: a cluster's followers hear of it like of any append.
      this.#reader.notify(writer.keys.log);
      const error = new StoreError(
        'fenced',
        `The store lost events of stream ${JSON.stringify(writer.id)} that it had accepted: its log ends at id ${result.slice(scripts.LOST_PREFIX.length + 1)}, this writer had appended up to ${writer.asked - 1} (a Redis failover to a replica that had not received them, or a restart that lost its last writes). The stream was ended with an error event, code ${scripts.STORE_LOST_EVENTS}.`,
      );
      // Nobody else hears of it: the run manager does not report a fenced writer.
      this.#conn.onError(error);
      throw error;
    }
    throw this.#conn.refusal(String(result));
  }

  /** The writer ended, lost its stream or closed: no more heartbeats or stop listening. */
  releaseWriter(writer: RedisWriter, subscribed: boolean): void {
    this.#writers.delete(writer);
    if (subscribed && this.#stopWriters.get(writer.keys.stop) === writer) {
      this.#stopWriters.delete(writer.keys.stop);
      if (this.#channels.delete(writer.keys.stop)) {
        this.#conn.sub?.unsubscribe(writer.keys.stop).catch((error: unknown) => this.#conn.onError(error));
      }
    }
  }

  /** Listens for stop requests to `writer` (the shared subscriber connection), then checks the state hash. */
  subscribeStop(writer: RedisWriter): void {
    this.#stopWriters.set(writer.keys.stop, writer);
    const sub = this.#conn.subscriber();
    // Not connected yet: the subscriber's 'ready' handler subscribes it.
    if (sub.isReady) this.#subscribeChannel(sub, writer);
  }

  #subscribeChannel(sub: Client, writer: RedisWriter): void {
    const channel = writer.keys.stop;
    if (this.#channels.has(channel)) return;
    this.#channels.add(channel);
    sub.subscribe(channel, (message) => writer.stopped(message)).then(
      () => this.#checkStop(writer),
      (error: unknown) => {
        this.#channels.delete(channel);
        this.#conn.onError(error);
      },
    );
  }

  #checkStop(writer: RedisWriter): void {
    if (!writer.listening) return;
    this.#conn.command(() => this.#conn.cmd.hGet(writer.keys.state, 'stop')).then(
      (reason) => {
        if (reason !== null && reason !== undefined) writer.stopped(reason);
      },
      (error: unknown) => this.#conn.onError(error),
    );
  }

  /**
   * The subscriber connected. On the first connection, subscribe the writers that asked meanwhile;
   * after a reconnect (node-redis subscribes again by itself), a stop published during the outage
   * is only in the state hash.
   */
  resubscribe(sub: Client): void {
    for (const writer of this.#stopWriters.values()) {
      if (this.#channels.has(writer.keys.stop)) this.#checkStop(writer);
      else this.#subscribeChannel(sub, writer);
    }
  }

  /** Renews the lease (and the keys' time to live) of every stream this instance writes; a writer that lost its stream is dropped. */
  heartbeat(): void {
    if (!this.#conn.cmd.isReady) return;
    for (const writer of this.#writers) {
      const { keys } = writer;
      this.#conn.run(SCRIPTS.heartbeat, [keys.state, keys.lease, keys.log, keys.followers, keys.request], [String(writer.token), this.#lease, this.#ttl]).then(
        (held) => {
          if (held === 0) this.#writers.delete(writer);
        },
        (error: unknown) =>
          // A missed heartbeat: the next one renews the lease unless it ran out meanwhile.
          this.#conn.onError(error),
      );
    }
  }

  /** Gives `writer`'s lease up (a draining instance hands its run over). */
  async handOver(writer: RedisWriter): Promise<boolean> {
    const { keys } = writer;
    return (await this.#conn.run(SCRIPTS.handOver, [keys.state, keys.lease], [String(writer.token)])) === 1;
  }

  /** The store closes: no more heartbeats. */
  clear(): void {
    this.#writers.clear();
  }
}
