/**
 * The connections of the Redis store and the plumbing every part of it sends its commands through:
 * bounded commands, scripts run by SHA1, Redis failures mapped to {@link StoreError}s.
 *
 * - Connections: three per store instance, however many streams and followers — commands, one
 *   blocking reader that XREADs every followed key at once (the shared reader, redis-reader.ts; on a
 *   Redis Cluster the command connection, redis-cluster.ts) and one subscriber for stop requests
 *   (created on the first `onStop`; approvals and a cluster's notifications use it too).
 * - Outages (docs/redis-outage.md): the store connects in the background and reconnects within
 *   {@link RECONNECT_MAX_MS} of Redis coming back; every command gives up after
 *   {@link COMMAND_TIMEOUT_MS} (a paused or partitioned Redis never hangs a request; see withTimeout). Meanwhile
 *   `ready()` is false and `create()` rejects with code `unavailable`; an append is retried for up
 *   to {@link OUTAGE_BUDGET_MS} (idempotently: a retry of an append that did land returns its id)
 *   and the shared reader waits as long for its connection, so a short outage with the data kept
 *   only pauses running streams. Past that, appends reject and reads end with `unavailable`; a
 *   stream whose keys are gone when Redis is back ends its reads with `not_found`.
 *
 * This module does not load the Redis client: redis.ts, the only module that does, hands the
 * command client and node-redis's `ErrorReply` in.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type * as Redis from 'redis';
import { isAbortError } from '../core/errors.ts';
import { StoreError, isStoreError } from './errors.ts';
import * as scripts from './redis-scripts.ts';

/** How long operations started right after the store was created wait for its first connection. */
const FIRST_CONNECT_WAIT_MS = 2000;
/** How long `ready()` waits for a PING. */
const PING_TIMEOUT_MS = 1000;
/** The longest wait between two reconnection attempts (node-redis backs off exponentially up to it). */
export const RECONNECT_MAX_MS = 500;
/** A command without a reply for this long rejects with `unavailable` (Redis paused, a partition). */
export const COMMAND_TIMEOUT_MS = 2000;
/**
 * How long an append retries, and the shared reader waits for its connection, before a running
 * stream is told the store is gone: a Redis restart or pause shorter than this pauses the stream.
 */
export const OUTAGE_BUDGET_MS = 5000;
/** The bound on a command while Redis is known not to answer (see `#bounded`). */
const UNRESPONSIVE_TIMEOUT_MS = 250;
/** Pause between two retries of an append during an outage. */
export const APPEND_RETRY_MS = 250;

/** A node-redis client, as the store uses it (on a cluster a ClusterConnection, redis-cluster.ts, behind the same methods). */
export type Client = ReturnType<typeof Redis.createClient>;
/** node-redis's class of Redis error replies (handed in by redis.ts, which loads the client). */
export type ErrorReplyClass = typeof Redis.ErrorReply;

/**
 * Rejects with `unavailable` when `promise` has not settled within `ms`. A paused or partitioned
 * Redis keeps the socket open, and node-redis's own command timeout stops counting once a command
 * is written, so without this a command would wait for as long as the outage lasts. The command
 * itself may still run when Redis wakes up (appends are idempotent for that reason).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError('unavailable', `Redis did not answer within ${ms} ms; the store keeps trying in the background.`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The same client, every method that returns a promise (a command) bounded by
 * {@link COMMAND_TIMEOUT_MS} through {@link withTimeout}; getters (`isReady`) as they are.
 */
export function withCommandTimeouts<C extends object>(client: C, bound: <T>(promise: Promise<T>) => Promise<T>): C {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'constructor') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...parameters: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? bound(result) : result;
      };
    },
  });
}

/** Backoff between reconnection attempts: 25, 50, 100 … ms, at most {@link RECONNECT_MAX_MS}. */
export function reconnectDelay(retries: number): number {
  return Math.min(25 * 2 ** Math.min(retries, 10), RECONNECT_MAX_MS);
}

/** Lets the process exit while `timer` is pending. */
export function unref(timer: ReturnType<typeof setInterval>): void {
  (timer as { unref?: () => void }).unref?.();
}

/** A Lua script, run by its SHA1 (EVALSHA) and loaded on first use or after a Redis restart. */
export class Script {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/** The store's scripts (redis-scripts.ts), each run by {@link RedisConnection.run}. */
export const SCRIPTS = {
  create: new Script(scripts.CREATE),
  append: new Script(scripts.APPEND),
  heartbeat: new Script(scripts.HEARTBEAT),
  takeover: new Script(scripts.TAKEOVER),
  requestStop: new Script(scripts.REQUEST_STOP),
  detach: new Script(scripts.DETACH),
  detachedSince: new Script(scripts.DETACHED_SINCE),
  publish: new Script(scripts.PUBLISH),
  answerApproval: new Script(scripts.ANSWER_APPROVAL),
  leaseAcquire: new Script(scripts.LEASE_ACQUIRE),
  leaseRenew: new Script(scripts.LEASE_RENEW),
  handOver: new Script(scripts.HAND_OVER),
};

/**
 * Whether an error reply is Redis refusing a write at its `maxmemory` (`OOM command not allowed
 * when used memory > 'maxmemory'.`, from a command or, since Redis 7, from within a script; Redis 6
 * wraps a script's as `ERR Error running script … -OOM command not allowed …`).
 */
function isOutOfMemoryReply(message: string): boolean {
  return message.startsWith('OOM ') || message.includes('-OOM command not allowed');
}

/**
 * Maps a Redis failure to a {@link StoreError}: a script's refusal to its code, a broken connection
 * to `unavailable`, a Redis out of memory to `full` (503 `store_full`: retrying helps once keys
 * expire or memory is freed, not after a reconnect, so appends are not retried for it).
 */
function toStoreError(error: unknown, ErrorReply: ErrorReplyClass): unknown {
  if (isStoreError(error) || isAbortError(error)) return error;
  if (error instanceof ErrorReply) {
    const message = error.message;
    if (message.includes(scripts.SCRIPT_ERRORS.fenced)) {
      return new StoreError('fenced', 'This writer lost its lease; the stream was ended by another party (producer_lost).', { cause: error });
    }
    if (message.includes(scripts.SCRIPT_ERRORS.ended)) {
      return new StoreError('ended', 'The stream has ended; nothing can be appended after its terminal event.', { cause: error });
    }
    if (message.includes(scripts.SCRIPT_ERRORS.not_found)) {
      return new StoreError('not_found', 'The stream has expired (or was never created).', { cause: error });
    }
    if (scripts.isTransientReply(message)) {
      return new StoreError('unavailable', `Redis cannot serve right now (${message}); retry shortly.`, { cause: error });
    }
    if (isOutOfMemoryReply(message)) {
      return new StoreError(
        'full',
        `Redis is out of memory: it refuses writes at its \`maxmemory\` (policy \`noeviction\`, or nothing left to evict): ${message}`,
        { cause: error },
      );
    }
    // An error reply that is no outage (a bug, a wrong key type): as it is.
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError('unavailable', `Redis is unreachable (${reason}); the store reconnects in the background.`, { cause: error });
}

/**
 * The connections of one store instance: the command connection (made by redis.ts), the shared
 * reader's (a duplicate, or the command connection itself on a cluster) and the subscriber
 * (created on first use); with the first-connection wait, the bound on every command and the
 * instance's closed flag that every part consults.
 */
export class RedisConnection {
  readonly cmd: Client;
  readonly reader: Client;
  /** On a Redis Cluster (a `redis+cluster://` URL): the cmd connection is a ClusterConnection (redis-cluster.ts). */
  readonly cluster: boolean;
  readonly onError: (error: unknown) => void;
  readonly #ErrorReply: ErrorReplyClass;
  #sub: Client | undefined;
  /** Run on every connection of the subscriber (see onSubscriberReady). */
  #subscriberReady: ((sub: Client) => void) | undefined;
  /** A command timed out and none has been answered since (Redis paused or cut off). */
  #unresponsive = false;
  #closed = false;
  /** Settles on the first connection (or after {@link FIRST_CONNECT_WAIT_MS}); undefined after that. */
  #starting: Promise<void> | undefined;

  constructor(cmd: Client, cluster: boolean, ErrorReply: ErrorReplyClass, onError: (error: unknown) => void) {
    this.cmd = cmd;
    this.cluster = cluster;
    this.#ErrorReply = ErrorReply;
    this.onError = onError;
    // On a cluster the live tail is read on the command connection (see RedisReader#pollLoop).
    this.reader = this.cluster ? this.cmd : this.cmd.duplicate();
    this.cmd.on('ready', () => (this.#unresponsive = false));
    for (const client of new Set([this.cmd, this.reader])) this.#connect(client);
    // Operations in the first moments wait for the first connection instead of failing at once.
    this.#starting = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.cmd.off('ready', done);
        this.#starting = undefined;
        resolve();
      };
      const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
      unref(timer);
      this.cmd.on('ready', done);
    });
  }

  /** Whether the store was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The subscriber connection, if it was created. */
  get sub(): Client | undefined {
    return this.#sub;
  }

  /** Maps a Redis failure to a {@link StoreError}: a script's refusal to its code, a broken connection to `unavailable`. */
  readonly toStoreError = (error: unknown): unknown => toStoreError(error, this.#ErrorReply);

  /** A script's refusal that came as its result (not as an error reply), mapped like an error reply. */
  refusal(message: string): unknown {
    return this.toStoreError(new this.#ErrorReply(message));
  }

  /** What the subscriber does on each of its connections (subscribe what was asked for meanwhile). */
  onSubscriberReady(listener: (sub: Client) => void): void {
    this.#subscriberReady = listener;
  }

  subscriber(): Client {
    if (this.#sub !== undefined) return this.#sub;
    const sub = this.cmd.duplicate();
    this.#sub = sub;
    this.#connect(sub);
    sub.on('ready', () => this.#subscriberReady?.(sub));
    return sub;
  }

  #connect(client: Client): void {
    client.on('error', (error: unknown) => this.onError(error));
    client.connect().catch((error: unknown) =>
      // Only when the store closes before the first connection; reconnecting is the client's job.
      this.onError(error),
    );
  }

  /** Runs a script by SHA1, loading it when Redis does not know it (first use, or after a restart). */
  async run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    if (!this.cmd.isReady && this.#starting !== undefined) await this.#starting;
    try {
      return await this.bounded(this.cmd.sendCommand(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]));
    } catch (error) {
      if (error instanceof this.#ErrorReply && error.message.startsWith('NOSCRIPT')) {
        try {
          return await this.bounded(this.cmd.sendCommand(['EVAL', script.source, String(keys.length), ...keys, ...args]));
        } catch (evalError) {
          throw this.toStoreError(evalError);
        }
      }
      throw this.toStoreError(error);
    }
  }

  /**
   * A command's reply, bounded: {@link COMMAND_TIMEOUT_MS}, or only {@link UNRESPONSIVE_TIMEOUT_MS}
   * once a command timed out and none has been answered since (a request that needs several
   * commands — rate limit, quota, create — is refused in about 2 s, not 2 s per command).
   */
  async bounded<T>(promise: Promise<T>): Promise<T> {
    try {
      const reply = await withTimeout(promise, this.#unresponsive ? UNRESPONSIVE_TIMEOUT_MS : COMMAND_TIMEOUT_MS);
      this.#unresponsive = false;
      return reply;
    } catch (error) {
      // Only the timeout is a StoreError here (the client's own failures are mapped later).
      if (isStoreError(error)) this.#unresponsive = true;
      throw error;
    }
  }

  async command<T>(run: () => Promise<T>): Promise<T> {
    if (!this.cmd.isReady && this.#starting !== undefined) await this.#starting;
    try {
      return await this.bounded(run());
    } catch (error) {
      throw this.toStoreError(error);
    }
  }

  async ready(): Promise<boolean> {
    if (this.#closed || !this.cmd.isReady) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(resolve, PING_TIMEOUT_MS, false);
      });
      return await Promise.race([this.cmd.ping().then(() => true), timeout]);
    } catch {
      // Unreachable right now: that is the answer.
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Marks the store closed. Destroying a client while its first connection is being made leaves
   * that socket open (the process would never exit): returns the first attempt, if it is still
   * under way, for the caller to let it settle first (at most FIRST_CONNECT_WAIT_MS).
   */
  markClosed(): Promise<void> | undefined {
    this.#closed = true;
    return this.#starting;
  }

  /** Closes the connections (after {@link RedisConnection.markClosed}). */
  async disconnect(): Promise<void> {
    // The reader may sit in a blocking XREAD and the subscriber has nothing to flush: drop them.
    if (this.reader !== this.cmd) this.reader.destroy();
    this.#sub?.destroy();
    if (this.cmd.isReady) await this.cmd.close();
    else this.cmd.destroy();
  }
}
