/**
 * The Redis stream store: every instance that shares a Redis sees the same streams, so a stream
 * can be resumed, followed or stopped from any instance. The only module that loads the Redis
 * client (`redis`, node-redis v5); the parts below get what they need of it from here.
 *
 * {@link RedisStore} composes one part per concern, each a module of its own:
 * - redis-connection.ts — the connections: three per store instance, however many streams and
 *   followers (commands, the shared reader's, a subscriber); every command bounded, scripts run by
 *   SHA1; outages (docs/redis-outage.md): the store connects in the background, reconnects within
 *   {@link RECONNECT_MAX_MS} of Redis coming back, gives a command up after {@link COMMAND_TIMEOUT_MS}
 *   and a running stream after {@link OUTAGE_BUDGET_MS}.
 * - redis-cluster.ts — Redis Cluster (`redis+cluster://host:port,…`, docs/redis-cluster.md): the
 *   same scripts through node-redis's cluster client, behind the methods of a single client.
 * - redis-keys.ts — the key names (a stream's keys share the hash tag `{<id>}`).
 * - redis-writer.ts — the producers: the log (a Redis stream per agent stream, ids 1, 2, 3 …, written
 *   by a Lua script that checks the writer's fencing token), the appends of a tick in one script
 *   call, the lease's heartbeat, stop requests.
 * - redis-takeover.ts — lost producers: a running stream without a lease ends with
 *   `producer_lost`, or is taken over.
 * - redis-reader.ts — the shared reader: the live tail of every followed key, one blocking XREAD
 *   on one Redis, sharded pub/sub on a cluster; redis-follower.ts — one reader of one key.
 * - redis-topics.ts — chats and topics; redis-approvals.ts — approvals.
 * - redis-scripts.ts — the Lua scripts.
 *
 * This module keeps the options, the streams' info, reads, stop requests and attachments (the
 * detach grace), and the quotas' backend.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { importOptional } from '../core/require-optional.ts';
import { isTerminalEvent } from '../protocol/types.ts';
import { StoreError, aheadOfLog } from './errors.ts';
import { ClusterConnection, parseClusterUrl } from './redis-cluster.ts';
import { COMMAND_TIMEOUT_MS, RedisConnection, SCRIPTS, reconnectDelay, withCommandTimeouts, unref, type Client } from './redis-connection.ts';
import { RedisApprovals } from './redis-approvals.ts';
import { RedisFollower, type FollowerBackend } from './redis-follower.ts';
import { RedisKeys } from './redis-keys.ts';
import { RedisReader, parseStreamEntry } from './redis-reader.ts';
import * as scripts from './redis-scripts.ts';
import { MAX_LEASE_CHECK_MS, RedisTakeover } from './redis-takeover.ts';
import { RedisTopics } from './redis-topics.ts';
import { RedisWriters } from './redis-writer.ts';
import type {
  AnswerApprovalResult,
  ApprovalAnswer,
  CreateStreamOptions,
  LeaseSet,
  PublishOptions,
  QuotaBackend,
  ReadOptions,
  StoreOptions,
  StoredEvent,
  StreamInfo,
  StreamStore,
  StreamWriter,
  TakeoverHandler,
  TopicEvent,
} from './types.ts';

export { COMMAND_TIMEOUT_MS, OUTAGE_BUDGET_MS, RECONNECT_MAX_MS } from './redis-connection.ts';
export { parseClusterUrl } from './redis-cluster.ts';

const { createClient, createCluster, ErrorReply } = await importOptional('redis', () => import('redis'));

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions extends StoreOptions {
  /**
   * The Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS), or a Redis
   * Cluster's nodes, `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://`
   * for TLS; any nodes of the cluster, the others are discovered; docs/redis-cluster.md).
   * @defaultValue `'redis://127.0.0.1:6379'`
   */
  url?: string;
  /** Prefix of every key and channel, so several apps (or tests) share one Redis. @defaultValue `'sluice:'` */
  keyPrefix?: string;
  /**
   * The length cap of one stream's log (Redis `MAXLEN ~`, so about this many). A longer stream
   * keeps its last events only; a read from before them rejects with code `trimmed`.
   * @defaultValue 100_000
   */
  maxLen?: number;
  /** Connection errors while Redis is unreachable (one per retry), and other failures with nobody to tell. @defaultValue none */
  onError?: (error: unknown) => void;
}

const DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  keyPrefix: 'sluice:',
  maxLen: 100_000,
  ttlMs: 3_600_000,
  leaseMs: 10_000,
  heartbeatMs: 3_000,
  attachTtlMs: 15_000,
  topicHistory: 1000,
  maxTopicBytes: 1024 * 1024,
} as const;

function checkNumber(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be a number ≥ ${min}, got ${String(value)} (${typeof value}).`);
  }
  return value;
}

/** The Redis store. Use {@link createRedisStore}. */
class RedisStore implements StreamStore {
  readonly kind = 'redis';
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #reader: RedisReader;
  readonly #writers: RedisWriters;
  readonly #takeover: RedisTakeover;
  readonly #approvals: RedisApprovals;
  readonly #topics: RedisTopics;
  readonly #instance = randomUUID();
  readonly #ttl: string;
  readonly #attachTtlMs: number;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #attached = new Map<string, number>();

  constructor(options: RedisStoreOptions) {
    const prefix = options.keyPrefix ?? DEFAULTS.keyPrefix;
    const ttlMs = checkNumber('ttlMs', options.ttlMs, DEFAULTS.ttlMs);
    this.#ttl = String(ttlMs);
    const leaseMs = checkNumber('leaseMs', options.leaseMs, DEFAULTS.leaseMs);
    const lease = String(leaseMs);
    // Renew often enough that neither the lease nor the keys' time to live runs out between two heartbeats.
    const heartbeatMs = Math.min(checkNumber('heartbeatMs', options.heartbeatMs, DEFAULTS.heartbeatMs), leaseMs / 2, ttlMs / 2);
    const maxLen = String(checkNumber('maxLen', options.maxLen, DEFAULTS.maxLen));
    this.#attachTtlMs = checkNumber('attachTtlMs', options.attachTtlMs, DEFAULTS.attachTtlMs);
    const topicHistory = String(checkNumber('topicHistory', options.topicHistory, DEFAULTS.topicHistory));
    const maxTopicBytes = checkNumber('maxTopicBytes', options.maxTopicBytes, DEFAULTS.maxTopicBytes);

    const cluster = parseClusterUrl(options.url ?? DEFAULTS.url);
    if (cluster !== undefined && /[{}]/.test(prefix)) {
      throw new RangeError(`Expected \`keyPrefix\` without { or } on a Redis Cluster (the store puts its own hash tags in every key), got ${JSON.stringify(prefix)}.`);
    }
    const cmd =
      cluster === undefined
        ? createClient({
            url: options.url ?? DEFAULTS.url,
            // Commands fail at once while Redis is unreachable instead of queueing without bound.
            disableOfflineQueue: true,
            // Back within RECONNECT_MAX_MS of Redis returning (new chats work again at once).
            socket: { reconnectStrategy: reconnectDelay, connectTimeout: COMMAND_TIMEOUT_MS },
          })
        : (new ClusterConnection(
            createCluster({
              rootNodes: cluster.rootNodes,
              defaults: {
                ...(cluster.username === undefined ? {} : { username: cluster.username }),
                ...(cluster.password === undefined ? {} : { password: cluster.password }),
                disableOfflineQueue: true,
                socket: { reconnectStrategy: reconnectDelay, connectTimeout: COMMAND_TIMEOUT_MS, ...(cluster.tls ? { tls: true as const } : {}) },
              },
            }),
            ErrorReply,
          ) as unknown as Client);
    this.#conn = new RedisConnection(cmd, cluster !== undefined, ErrorReply, options.onError ?? (() => {}));
    this.#keys = new RedisKeys(prefix, this.#conn.cluster);
    // Starts reading at once (it waits for the first followed key).
    this.#reader = new RedisReader(this.#conn, this.#keys.wake(this.#instance));
    const times = { ttl: this.#ttl, lease, maxLen };
    this.#writers = new RedisWriters(this.#conn, this.#keys, this.#reader, times);
    this.#takeover = new RedisTakeover(this.#conn, this.#keys, this.#reader, this.#writers, (id) => this.info(id), times);
    this.#approvals = new RedisApprovals(this.#conn, this.#keys, ttlMs);
    this.#topics = new RedisTopics(this.#conn, this.#keys, this.#reader, { ttlMs, topicHistory, maxTopicBytes });
    this.#conn.onSubscriberReady((sub) => {
      // What was asked for on the subscriber while it was not connected: stop requests, approvals,
      // a cluster's followed keys.
      this.#writers.resubscribe(sub);
      this.#approvals.resubscribe(sub);
      this.#reader.resubscribe(sub);
    });

    this.#every(heartbeatMs, () => this.#writers.heartbeat());
    this.#every(Math.max(20, Math.min(MAX_LEASE_CHECK_MS, leaseMs / 5)), () => this.#takeover.checkLeases());
    this.#every(this.#attachTtlMs / 3, () => this.#refreshAttached());
    this.#every(Math.max(50, Math.min(1000, leaseMs / 5)), () => this.#takeover.scanTakeovers());
  }

  // ---- streams -------------------------------------------------------------------------------

  create(options: CreateStreamOptions): Promise<StreamWriter> {
    return this.#writers.create(options);
  }

  async info(id: string): Promise<StreamInfo | undefined> {
    const hash = await this.#conn.command(() => this.#conn.cmd.hGetAll(this.#keys.stream(id).state));
    if (hash.state === undefined) return undefined;
    return {
      id,
      kind: hash.kind ?? 'chat',
      state: hash.state === 'done' ? 'done' : 'running',
      lastId: Number(hash.lastId ?? 0),
      createdAt: Number(hash.createdAt ?? 0),
      meta: JSON.parse(hash.meta ?? '{}') as Record<string, string>,
      ...(hash.owner === undefined ? {} : { owner: hash.owner }),
      token: Number(hash.token ?? 1),
      takeovers: Number(hash.takeovers ?? 0),
    };
  }

  read(id: string, options: ReadOptions = {}): AsyncIterable<StoredEvent> {
    const after = options.after ?? 0;
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new RangeError(`Expected \`after\` to be an event id (an integer ≥ 0), got ${String(after)} (${typeof after}).`);
    }
    const keys = this.#keys.stream(id);
    const backend: FollowerBackend<StoredEvent> = {
      consecutive: true,
      start: async (follower) => {
        this.#reader.track(follower);
        const result = await this.#takeover.takeover(keys, id);
        if (result === -1) throw new StoreError('not_found', `No stream ${JSON.stringify(id)}: it never existed or has expired.`);
        const [lastId, done] = result;
        if (after > lastId) throw aheadOfLog(id, after, lastId);
        return { ms: after, seq: 0, done: done === 1 };
      },
      range: (ms, seq, count) => this.#reader.range(keys.log, ms, seq, count, parseStreamEntry),
      isEnd: (value) => isTerminalEvent(value.event),
      endsLostLog: (value) => value.event.type === 'error' && value.event.code === scripts.STORE_LOST_EVENTS,
      follow: (follower, ms, seq) => this.#reader.follow(keys.log, 'stream', id, follower, ms, seq),
      unfollow: (follower) => this.#reader.unfollow(keys.log, follower),
      release: (follower) => this.#reader.release(follower),
      toError: this.#conn.toStoreError,
    };
    return new RedisFollower(backend, options.signal);
  }

  async requestStop(id: string, reason: string): Promise<boolean> {
    const keys = this.#keys.stream(id);
    return (await this.#conn.run(SCRIPTS.requestStop, [keys.state], [reason, keys.stop])) === 1;
  }

  attach(id: string): () => void {
    const count = (this.#attached.get(id) ?? 0) + 1;
    this.#attached.set(id, count);
    if (count === 1) this.#refreshAttached([id]);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const left = (this.#attached.get(id) ?? 1) - 1;
      if (left > 0) {
        this.#attached.set(id, left);
        return;
      }
      this.#attached.delete(id);
      const keys = this.#keys.stream(id);
      this.#conn.run(SCRIPTS.detach, [keys.followers, keys.state], [this.#instance, String(Date.now())]).catch((error: unknown) =>
        // Redis is unreachable: the attachment expires by itself after attachTtlMs.
        this.#conn.onError(error),
      );
    };
  }

  async detachedSince(id: string): Promise<number | undefined> {
    const keys = this.#keys.stream(id);
    const since = (await this.#conn.run(SCRIPTS.detachedSince, [keys.state, keys.followers], [String(Date.now())])) as number;
    return since < 0 ? undefined : since;
  }

  #refreshAttached(ids: Iterable<string> = this.#attached.keys()): void {
    if (!this.#conn.cmd.isReady) return;
    const expires = String(Date.now() + this.#attachTtlMs);
    for (const id of ids) {
      const key = this.#keys.stream(id).followers;
      this.#conn.cmd
        .sendCommand(['ZADD', key, expires, this.#instance])
        .then(() => this.#conn.cmd.sendCommand(['PEXPIRE', key, this.#ttl]))
        .catch((error: unknown) => this.#conn.onError(error));
    }
  }

  // ---- approvals -----------------------------------------------------------------------------

  openApproval(streamId: string, approvalId: string): Promise<void> {
    return this.#approvals.open(streamId, approvalId);
  }

  answerApproval(streamId: string, approvalId: string, answer: ApprovalAnswer): Promise<AnswerApprovalResult> {
    return this.#approvals.answer(streamId, approvalId, answer);
  }

  waitApproval(streamId: string, approvalId: string, options?: { signal?: AbortSignal }): Promise<ApprovalAnswer> {
    return this.#approvals.wait(streamId, approvalId, options);
  }

  // ---- chats and topics ----------------------------------------------------------------------

  setChatStream(chatId: string, streamId: string | undefined, owner?: string): Promise<void> {
    return this.#topics.setChatStream(chatId, streamId, owner);
  }

  getChatStream(chatId: string, owner?: string): Promise<string | undefined> {
    return this.#topics.getChatStream(chatId, owner);
  }

  publish(topic: string, event: Omit<TopicEvent, 'id'>, options?: PublishOptions): Promise<string> {
    return this.#topics.publish(topic, event, options);
  }

  subscribe(topic: string, options?: { after?: string; signal?: AbortSignal; owner?: string | undefined }): AsyncIterable<TopicEvent> {
    return this.#topics.subscribe(topic, options);
  }

  // ---- takeovers and quotas ------------------------------------------------------------------

  onTakeover(handler: TakeoverHandler): () => void {
    return this.#takeover.onTakeover(handler);
  }

  /** The quotas' counters, on this store's command connection and under its key prefix. */
  quotaBackend(): QuotaBackend {
    const leases: LeaseSet = {
      acquire: async (key, holder, limit, ttlMs) =>
        (await this.#conn.run(SCRIPTS.leaseAcquire, [key], [holder, String(limit), String(Date.now()), String(ttlMs)])) === 1,
      renew: async (held, ttlMs) => {
        const expiry = String(Date.now() + ttlMs);
        await Promise.all(held.map(([key, holder]) => this.#conn.run(SCRIPTS.leaseRenew, [key], [holder, expiry, String(ttlMs)])));
      },
      release: async (key, holder) => {
        await this.#conn.command(() => this.#conn.cmd.zRem(key, holder));
      },
    };
    // The rate limiter sends its own commands: they are bounded like the store's (a paused Redis
    // must not hang every new request in the limiter; on a timeout it counts in memory instead).
    const client = this.#conn.cmd instanceof ClusterConnection ? this.#conn.cmd.cluster : this.#conn.cmd;
    return { client: withCommandTimeouts(client, (promise) => this.#conn.bounded(promise)), keyPrefix: this.#keys.quota, leases };
  }

  // ---- life cycle ----------------------------------------------------------------------------

  ready(): Promise<boolean> {
    return this.#conn.ready();
  }

  async close(): Promise<void> {
    if (this.#conn.closed) return;
    // Destroying a client while its first connection is being made leaves that socket open (the
    // process would never exit): let the first attempt settle first (at most FIRST_CONNECT_WAIT_MS).
    const starting = this.#conn.markClosed();
    if (starting !== undefined) await starting;
    for (const timer of this.#timers) clearInterval(timer);
    this.#writers.clear();
    this.#reader.close();
    await this.#conn.disconnect();
  }

  #every(ms: number, task: () => void): void {
    const timer = setInterval(task, ms);
    unref(timer);
    this.#timers.push(timer);
  }
}

/**
 * Creates the Redis stream store. It connects in the background (and reconnects after an outage),
 * so it can be created while Redis is down; `ready()` says when it is up.
 *
 * @param options - the URL, key prefix, caps and times
 * @returns a {@link StreamStore} shared by every instance on the same Redis and key prefix
 * @example
 * ```ts
 * import { createRedisStore } from 'sluice/store/redis';
 * const store = createRedisStore({ url: process.env.REDIS_URL });
 * const writer = await store.create({ id: crypto.randomUUID() });
 * await writer.append({ type: 'finish', finishReason: 'stop' });
 * ```
 */
export function createRedisStore(options: RedisStoreOptions = {}): StreamStore {
  return new RedisStore(options);
}