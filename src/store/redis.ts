/**
 * The Redis stream store: every instance that shares a Redis sees the same streams, so a stream
 * can be resumed, followed or stopped from any instance. The only module that loads the Redis
 * client (`redis`, node-redis v5).
 *
 * - Log: a Redis stream per agent stream, entry `<n>-0` for event n, written by a Lua script that
 *   checks the writer's fencing token, so ids are 1, 2, 3 … and a stale producer is refused.
 * - Connections: three per store instance, however many streams and followers — commands, one
 *   blocking reader that XREADs every followed key at once (woken through a per-instance wake
 *   stream when the key set grows) and dispatches to the followers, and one subscriber for stop
 *   requests (created on the first `onStop`).
 * - Appends: the appends of one tick, of every stream the instance writes, are one APPEND script
 *   call (one command and one script run for them all; on a cluster, one per append). The script
 *   refuses a log that is behind its writer and ends the stream (`store_lost_events`, see scripts.APPEND).
 * - Lease: `:lease` holds the writer's token with a PX time to live, renewed by one heartbeat
 *   timer per instance; an instance following a running stream without a lease ends it with
 *   `producer_lost` (one Lua step that also bumps the token).
 * - Redis Cluster (`redis+cluster://host:port,…`, docs/redis-cluster.md): the same scripts (a stream's
 *   keys share the hash tag `{<id>}`, a topic's its own), through node-redis's cluster client behind
 *   {@link ClusterConnection}; the live tail is notified by sharded pub/sub instead of one blocking XREAD.
 * - Outages (docs/redis-outage.md): the store connects in the background and reconnects within
 *   {@link RECONNECT_MAX_MS} of Redis coming back; every command gives up after
 *   {@link COMMAND_TIMEOUT_MS} (a paused or partitioned Redis never hangs a request; see withTimeout). Meanwhile
 *   `ready()` is false and `create()` rejects with code `unavailable`; an append is retried for up
 *   to {@link OUTAGE_BUDGET_MS} (idempotently: a retry of an append that did land returns its id)
 *   and the shared reader waits as long for its connection, so a short outage with the data kept
 *   only pauses running streams. Past that, appends reject and reads end with `unavailable`; a
 *   stream whose keys are gone when Redis is back ends its reads with `not_found`.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { isAbortError } from '../core/errors.ts';
import { importOptional } from '../core/require-optional.ts';
import { utf8Length } from '../core/utf8-length.ts';
import { isTerminalEvent, type AgentEvent } from '../protocol/types.ts';
import { StoreError, aheadOfLog, isStoreError, producerLostEvent } from './errors.ts';
import { RedisFollower, type FeedEntry, type FollowerBackend } from './redis-follower.ts';
import * as scripts from './redis-scripts.ts';
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
/** The longest pause between two lease checks of a followed stream. */
const MAX_LEASE_CHECK_MS = 2000;
/** How long followers wait for the reader's connection before they end with `unavailable`. */
const READER_WAIT_MS = 2000;
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
const APPEND_RETRY_MS = 250;

/**
 * Rejects with `unavailable` when `promise` has not settled within `ms`. A paused or partitioned
 * Redis keeps the socket open, and node-redis's own command timeout stops counting once a command
 * is written, so without this a command would wait for as long as the outage lasts. The command
 * itself may still run when Redis wakes up (appends are idempotent for that reason).
 */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
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
function withCommandTimeouts<C extends object>(client: C, bound: <T>(promise: Promise<T>) => Promise<T>): C {
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
function reconnectDelay(retries: number): number {
  return Math.min(25 * 2 ** Math.min(retries, 10), RECONNECT_MAX_MS);
}

type Client = ReturnType<typeof createClient>;
type RawEntry = [id: string, fields: string[]];
type Cluster = ReturnType<typeof createCluster>;

/** The scheme of a cluster URL (`redis+cluster://host:port,host:port`, `rediss+cluster://` for TLS). */
const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;
/**
 * How often every followed key is read on a cluster besides its notifications (see #pollLoop): the
 * most a notification lost in a reconnect delays its entries.
 */
const CLUSTER_SWEEP_MS = 1000;

/** Parses a cluster URL into node-redis's cluster options; undefined for a single-node URL. */
export function parseClusterUrl(url: string): { rootNodes: { url: string }[]; username?: string; password?: string; tls: boolean } | undefined {
  const match = CLUSTER_URL.exec(url);
  if (match === null) {
    if (/^rediss?\+cluster:/.test(url)) throw new RangeError(`Expected a cluster URL like redis+cluster://host:port,host:port, got ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))}.`);
    return undefined;
  }
  const [, scheme, auth, hosts] = match as unknown as [string, string, string | undefined, string];
  const nodes = hosts.split(',').map((host) => host.trim()).filter((host) => host !== '');
  if (nodes.length === 0) throw new RangeError('Expected at least one host:port in the cluster URL.');
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon === -1 ? auth : auth.slice(0, colon)) || undefined;
    password = colon === -1 ? undefined : decodeURIComponent(auth.slice(colon + 1));
  }
  return {
    rootNodes: nodes.map((host) => ({ url: `${scheme}://${host}` })),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    tls: scheme === 'rediss',
  };
}

/** The first key of a command as the store sends it (where a cluster routes it); undefined: any node. */
function firstKey(args: readonly string[]): string | undefined {
  const name = (args[0] ?? '').toUpperCase();
  if (name === 'EVALSHA' || name === 'EVAL') return Number(args[2]) > 0 ? args[3] : undefined;
  if (name === 'XREAD') {
    const at = args.findIndex((arg) => arg.toUpperCase() === 'STREAMS');
    return at === -1 ? undefined : args[at + 1];
  }
  return args[1];
}

/** The number of slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16_384;
/** The least time between two slot-map refreshes a failing command asks for (see ClusterConnection). */
const REDISCOVER_MS = 200;

/**
 * A Redis Cluster behind the few client methods the store uses, so the store runs unchanged on
 * either: `sendCommand` routes by the command's first key (every script's keys share a hash tag,
 * so one slot), `isReady` means a master's connection is ready (the store's timers run for the
 * streams on the masters that answer), `ready` is emitted when the cluster connects and when a
 * node connects, and `ping` asks every master (`ready()` is false while one does not answer). The
 * first connection is retried in the background like a single client's.
 *
 * Failover: node-redis refreshes its slot map only on a MOVED or ASK reply, and a dead master
 * never sends one: its commands would fail ("The client is offline") for good. So a command that
 * fails with anything but a plain error reply refreshes the map (at most every
 * {@link REDISCOVER_MS}), which finds the replica promoted in its place.
 */
class ClusterConnection {
  readonly cluster: Cluster;
  readonly #listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  #closed = false;
  #rediscoveredAt = 0;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    cluster.on('connect', () => this.#emit('ready'));
    cluster.on('node-ready', () => this.#emit('ready'));
    cluster.on('error', (error: unknown) => this.#emit('error', error));
    cluster.on('node-error', (error: unknown) => this.#emit('error', error));
  }

  get isReady(): boolean {
    const masters = this.cluster.isOpen ? this.cluster.masters : [];
    return masters.some((master) => master.client?.isReady === true);
  }

  /** A command failed: unless Redis answered it with an ordinary error, refresh the slot map (a failover). */
  #guard<T>(promise: Promise<T>): Promise<T> {
    return promise.catch((error: unknown) => {
      if (!(error instanceof ErrorReply) || scripts.isTransientReply(error.message)) this.#rediscover();
      throw error;
    });
  }

  #rediscover(): void {
    const now = Date.now();
    if (this.#closed || now - this.#rediscoveredAt < REDISCOVER_MS) return;
    this.#rediscoveredAt = now;
    const masters = this.cluster.masters;
    const start = (masters.find((master) => master.client?.isReady === true) ?? masters[0])?.client;
    // The slot map of node-redis's cluster (public in its JavaScript, what rate-limiter-flexible uses too).
    const slots = (this.cluster as unknown as { _slots?: { rediscover?: (client: unknown) => Promise<void> } })._slots;
    if (start === undefined || slots?.rediscover === undefined) return;
    slots.rediscover(start).catch((error: unknown) => this.#emit('error', error));
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off(event: string, listener: (...args: unknown[]) => void): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  #emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args);
  }

  async connect(): Promise<void> {
    for (let retries = 0; ; retries++) {
      try {
        await this.cluster.connect();
        if (this.cluster.masters.length > 0) return;
        // Nodes that answer but serve no slots yet (a cluster being made): start over.
        this.cluster.destroy();
        throw new Error('The Redis Cluster serves no slots yet.');
      } catch (error) {
        if (this.#closed) throw error;
        this.#emit('error', error);
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(retries)));
        if (this.#closed) throw error;
      }
    }
  }

  duplicate(): ClusterConnection {
    return new ClusterConnection(this.cluster.duplicate());
  }

  sendCommand(args: string[]): Promise<unknown> {
    return this.#guard(this.cluster.sendCommand(firstKey(args), false, args));
  }

  hGet(key: string, field: string): Promise<string | null> {
    return this.#guard(this.cluster.hGet(key, field) as Promise<string | null>);
  }

  hGetAll(key: string): Promise<Record<string, string>> {
    return this.#guard(this.cluster.hGetAll(key) as Promise<Record<string, string>>);
  }

  get(key: string): Promise<string | null> {
    return this.#guard(this.cluster.get(key) as Promise<string | null>);
  }

  set(key: string, value: string, options: { expiration: { type: 'PX'; value: number } }): Promise<unknown> {
    return this.#guard(this.cluster.set(key, value, options));
  }

  del(key: string): Promise<number> {
    return this.#guard(this.cluster.del(key));
  }

  exists(key: string): Promise<number> {
    return this.#guard(this.cluster.exists(key));
  }

  zRem(key: string, member: string): Promise<number> {
    return this.#guard(this.cluster.zRem(key, member));
  }

  async ping(): Promise<string> {
    // Slots no master serves (a cluster being made, or a master lost without a replica): not ready, and look again.
    const slots = this.cluster.slots;
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (slots[slot] === undefined) {
        this.#rediscover();
        throw new Error(`No master serves slot ${slot} of the Redis Cluster.`);
      }
    }
    await this.#guard(Promise.all(this.cluster.masters.map(async (master) => (await this.cluster.nodeClient(master)).ping())));
    return 'PONG';
  }

  /** Classic pub/sub: a cluster forwards every PUBLISH (also a script's) to every node, so one subscription on any node hears it. */
  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.subscribe(channel, listener);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.cluster.unsubscribe(channel);
  }

  /** Sharded pub/sub: the channel lives on the master of its slot (a key's name as channel: that key's master). */
  sSubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.cluster.sSubscribe(channel, listener);
  }

  sUnsubscribe(channel: string, listener?: (message: string) => void): Promise<void> {
    return this.cluster.sUnsubscribe(channel, listener);
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.cluster.close();
  }

  destroy(): void {
    this.#closed = true;
    if (this.cluster.isOpen) this.cluster.destroy();
  }
}

/** A Lua script, run by its SHA1 (EVALSHA) and loaded on first use or after a Redis restart. */
class Script {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = {
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

/** Runs a scan for lost producers looks at, at most (the runs nobody follows here; followed ones are checked with their feed). */
const TAKEOVER_SCAN_BATCH = 50;

function checkNumber(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be a number ≥ ${min}, got ${String(value)} (${typeof value}).`);
  }
  return value;
}

function unref(timer: ReturnType<typeof setInterval>): void {
  (timer as { unref?: () => void }).unref?.();
}

/** Splits a Redis stream id `ms-seq`. */
function parseId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash === -1 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** An append waiting for this tick's script call (see RedisStore#flushAppends). */
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

/** The keys of one agent stream. */
interface StreamKeys {
  log: string;
  state: string;
  lease: string;
  followers: string;
  stop: string;
  /** The run's request (a run that can be taken over). */
  request: string;
}

/** One followed key of the shared reader. */
interface Feed {
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

/** The producer's handle on a Redis stream. */
class RedisWriter implements StreamWriter {
  readonly id: string;
  readonly token: number;
  readonly keys: StreamKeys;
  readonly #store: RedisStore;
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
  constructor(store: RedisStore, id: string, token: number, keys: StreamKeys, lastId = 0) {
    this.#store = store;
    this.id = id;
    this.token = token;
    this.keys = keys;
    this.#asked = lastId;
  }

  append(event: AgentEvent): Promise<number> {
    const terminal = isTerminalEvent(event);
    const appended = this.#store.appendFor(this, JSON.stringify(event), terminal, ++this.#asked);
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
        this.#store.subscribeStop(this);
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
    return this.#store.handOver(this);
  }

  #release(): void {
    this.#listeners.clear();
    this.#store.releaseWriter(this, this.#subscribed);
    this.#subscribed = false;
  }
}

/** The Redis store. Use {@link createRedisStore}. */
class RedisStore implements StreamStore {
  readonly kind = 'redis';
  readonly #cmd: Client;
  readonly #reader: Client;
  /** On a Redis Cluster (a `redis+cluster://` URL): the cmd connection is a {@link ClusterConnection}. */
  readonly #cluster: boolean;
  #sub: Client | undefined;
  readonly #prefix: string;
  readonly #instance = randomUUID();
  readonly #wakeKey: string;
  readonly #ttl: string;
  readonly #ttlMs: number;
  readonly #lease: string;
  readonly #maxLen: string;
  readonly #attachTtlMs: number;
  readonly #topicHistory: string;
  readonly #maxTopicBytes: number;
  readonly #onError: (error: unknown) => void;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #writers = new Set<RedisWriter>();
  readonly #stopWriters = new Map<string, RedisWriter>();
  /** The stop channels subscribed (or being subscribed) on the subscriber connection. */
  readonly #channels = new Set<string>();
  readonly #attached = new Map<string, number>();
  /** Approvals waited on by this instance: their channel → a check of the key (after a reconnect, an answer published meanwhile is only in the key). */
  readonly #approvalWaits = new Map<string, { subscribed: boolean; check: () => void; answered: (message: string) => void }>();
  readonly #feeds = new Map<string, Feed>();
  /** The appends of this tick, sent together by #flushAppends (one Redis only, not a cluster). */
  #appends: PendingAppend[] = [];
  /** Every read and subscription not ended yet (in the feed or still paging), ended by close(). */
  readonly #readers = new Set<FeedFollower>();
  #wakeCursor = '0-0';
  #blocked = false;
  /** A command timed out and none has been answered since (Redis paused or cut off). */
  #unresponsive = false;
  /** Since when the shared reader's XREADs fail (undefined while they work). */
  #outageSince: number | undefined;
  #feedAdded: (() => void) | undefined;
  #closed = false;
  /** Settles on the first connection (or after {@link FIRST_CONNECT_WAIT_MS}); undefined after that. */
  #starting: Promise<void> | undefined;
  /** The instance's takeover handler (see onTakeover); undefined: this instance never claims a run. */
  #takeoverHandler: TakeoverHandler | undefined;
  /** The set of runs that can be taken over (scanned for lost producers nobody follows). */
  readonly #runsKey: string;
  #scanCursor = 0;
  #scanning = false;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix ?? DEFAULTS.keyPrefix;
    this.#ttlMs = checkNumber('ttlMs', options.ttlMs, DEFAULTS.ttlMs);
    this.#ttl = String(this.#ttlMs);
    const leaseMs = checkNumber('leaseMs', options.leaseMs, DEFAULTS.leaseMs);
    this.#lease = String(leaseMs);
    this.#runsKey = `${this.#prefix}takeover-runs`;
    // Renew often enough that neither the lease nor the keys' time to live runs out between two heartbeats.
    const heartbeatMs = Math.min(checkNumber('heartbeatMs', options.heartbeatMs, DEFAULTS.heartbeatMs), leaseMs / 2, this.#ttlMs / 2);
    this.#maxLen = String(checkNumber('maxLen', options.maxLen, DEFAULTS.maxLen));
    this.#attachTtlMs = checkNumber('attachTtlMs', options.attachTtlMs, DEFAULTS.attachTtlMs);
    this.#topicHistory = String(checkNumber('topicHistory', options.topicHistory, DEFAULTS.topicHistory));
    this.#maxTopicBytes = checkNumber('maxTopicBytes', options.maxTopicBytes, DEFAULTS.maxTopicBytes);
    this.#onError = options.onError ?? (() => {});
    this.#wakeKey = `${this.#prefix}wake:${this.#instance}`;

    const cluster = parseClusterUrl(options.url ?? DEFAULTS.url);
    if (cluster !== undefined && /[{}]/.test(this.#prefix)) {
      throw new RangeError(`Expected \`keyPrefix\` without { or } on a Redis Cluster (the store puts its own hash tags in every key), got ${JSON.stringify(this.#prefix)}.`);
    }
    this.#cluster = cluster !== undefined;
    this.#cmd =
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
          ) as unknown as Client);
    // On a cluster the live tail is read on the command connection (see #pollLoop).
    this.#reader = this.#cluster ? this.#cmd : this.#cmd.duplicate();
    this.#cmd.on('ready', () => (this.#unresponsive = false));
    for (const client of new Set([this.#cmd, this.#reader])) this.#connect(client);
    // Operations in the first moments wait for the first connection instead of failing at once.
    this.#starting = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#cmd.off('ready', done);
        this.#starting = undefined;
        resolve();
      };
      const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
      unref(timer);
      this.#cmd.on('ready', done);
    });
    (this.#cluster ? this.#pollLoop() : this.#readLoop()).catch((error: unknown) => this.#onError(error));

    this.#every(heartbeatMs, () => this.#heartbeat());
    this.#every(Math.max(20, Math.min(MAX_LEASE_CHECK_MS, leaseMs / 5)), () => this.#checkLeases());
    this.#every(this.#attachTtlMs / 3, () => this.#refreshAttached());
    this.#every(Math.max(50, Math.min(1000, leaseMs / 5)), () => this.#scanTakeovers());
  }

  // ---- streams -------------------------------------------------------------------------------

  async create(options: CreateStreamOptions): Promise<StreamWriter> {
    const keys = this.#keys(options.id);
    const request = options.request === undefined ? '' : JSON.stringify(options.request);
    const created = await this.#run(SCRIPTS.create, [keys.state, keys.lease, keys.request], [
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
      await this.#command(() => this.#cmd.sendCommand(['ZADD', this.#runsKey, String(Date.now()), options.id]));
    }
    const writer = new RedisWriter(this, options.id, 1, keys);
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
    if (this.#cluster) return this.#appendOne(writer, json, terminal, expected, Date.now() + OUTAGE_BUDGET_MS);
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
      this.#run(SCRIPTS.append, keys, args).then(
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
        const [result] = (await this.#run(SCRIPTS.append, [keys.log, keys.state, keys.lease], args)) as (number | string)[];
        const id = this.#appended(writer, result);
        this.#notify(keys.log);
        return id;
      } catch (error) {
        if (isStoreError(error) && error.code === 'fenced') this.#writers.delete(writer);
        if (!isStoreError(error) || error.code !== 'unavailable' || this.#closed || Date.now() + APPEND_RETRY_MS >= giveUpAt) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, APPEND_RETRY_MS));
    }
  }

  /** One result of the APPEND script: the id, or its refusal thrown as a {@link StoreError}. */
  #appended(writer: RedisWriter, result: number | string | undefined): number {
    if (typeof result === 'number') return result;
    if (typeof result === 'string' && result.startsWith(scripts.LOST_PREFIX)) {
      // The script ended the stream: a cluster's followers hear of it like of any append.
      this.#notify(writer.keys.log);
      const error = new StoreError(
        'fenced',
        `The store lost events of stream ${JSON.stringify(writer.id)} that it had accepted: its log ends at id ${result.slice(scripts.LOST_PREFIX.length + 1)}, this writer had appended up to ${writer.asked - 1} (a Redis failover to a replica that had not received them, or a restart that lost its last writes). The stream was ended with an error event, code ${scripts.STORE_LOST_EVENTS}.`,
      );
      // Nobody else hears of it: the run manager does not report a fenced writer.
      this.#onError(error);
      throw error;
    }
    throw toStoreError(new ErrorReply(String(result)));
  }

  /** The writer ended, lost its stream or closed: no more heartbeats or stop listening. */
  releaseWriter(writer: RedisWriter, subscribed: boolean): void {
    this.#writers.delete(writer);
    if (subscribed && this.#stopWriters.get(writer.keys.stop) === writer) {
      this.#stopWriters.delete(writer.keys.stop);
      if (this.#channels.delete(writer.keys.stop)) {
        this.#sub?.unsubscribe(writer.keys.stop).catch((error: unknown) => this.#onError(error));
      }
    }
  }

  async info(id: string): Promise<StreamInfo | undefined> {
    const hash = await this.#command(() => this.#cmd.hGetAll(this.#keys(id).state));
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
    const keys = this.#keys(id);
    const backend: FollowerBackend<StoredEvent> = {
      consecutive: true,
      start: async (follower) => {
        this.#track(follower);
        const result = await this.#takeover(keys, id);
        if (result === -1) throw new StoreError('not_found', `No stream ${JSON.stringify(id)}: it never existed or has expired.`);
        const [lastId, done] = result;
        if (after > lastId) throw aheadOfLog(id, after, lastId);
        return { ms: after, seq: 0, done: done === 1 };
      },
      range: (ms, seq, count) => this.#range(keys.log, ms, seq, count, parseStreamEntry),
      isEnd: (value) => isTerminalEvent(value.event),
      endsLostLog: (value) => value.event.type === 'error' && value.event.code === scripts.STORE_LOST_EVENTS,
      follow: (follower, ms, seq) => this.#follow(keys.log, 'stream', id, follower, ms, seq),
      unfollow: (follower) => this.#unfollow(keys.log, follower),
      release: (follower) => this.#readers.delete(follower),
      toError: toStoreError,
    };
    return new RedisFollower(backend, options.signal);
  }

  async requestStop(id: string, reason: string): Promise<boolean> {
    const keys = this.#keys(id);
    return (await this.#run(SCRIPTS.requestStop, [keys.state], [reason, keys.stop])) === 1;
  }

  /** Listens for stop requests to `writer` (the shared subscriber connection), then checks the state hash. */
  subscribeStop(writer: RedisWriter): void {
    this.#stopWriters.set(writer.keys.stop, writer);
    const sub = this.#subscriber();
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
        this.#onError(error);
      },
    );
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
      const keys = this.#keys(id);
      this.#run(SCRIPTS.detach, [keys.followers, keys.state], [this.#instance, String(Date.now())]).catch((error: unknown) =>
        // Redis is unreachable: the attachment expires by itself after attachTtlMs.
        this.#onError(error),
      );
    };
  }

  async detachedSince(id: string): Promise<number | undefined> {
    const keys = this.#keys(id);
    const since = (await this.#run(SCRIPTS.detachedSince, [keys.state, keys.followers], [String(Date.now())])) as number;
    return since < 0 ? undefined : since;
  }

  // ---- approvals -----------------------------------------------------------------------------

  async openApproval(streamId: string, approvalId: string): Promise<void> {
    const keys = this.#keys(streamId);
    // Pending is the empty string; it lives at least as long as a finished stream.
    await this.#command(() => this.#cmd.sendCommand(['SET', this.#approvalKey(keys, approvalId), '', 'PX', String(this.#ttlMs * 2), 'NX']));
  }

  async answerApproval(streamId: string, approvalId: string, answer: ApprovalAnswer): Promise<AnswerApprovalResult> {
    const key = this.#approvalKey(this.#keys(streamId), approvalId);
    const json = JSON.stringify(answer.reason === undefined ? { approved: answer.approved } : { approved: answer.approved, reason: answer.reason });
    const result = await this.#run(SCRIPTS.answerApproval, [key], [json, `${key}:answered`]);
    return result === 1 ? 'answered' : result === 2 ? 'already_answered' : 'not_found';
  }

  waitApproval(streamId: string, approvalId: string, options: { signal?: AbortSignal } = {}): Promise<ApprovalAnswer> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = this.#approvalKey(this.#keys(streamId), approvalId);
    const channel = `${key}:answered`;
    return new Promise<ApprovalAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, answer?: ApprovalAnswer): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        const wait = this.#approvalWaits.get(channel);
        this.#approvalWaits.delete(channel);
        if (wait?.subscribed === true) this.#sub?.unsubscribe(channel).catch((unsubscribeError: unknown) => this.#onError(unsubscribeError));
        if (answer !== undefined) resolve(answer);
        else reject(error);
      };
      const answered = (message: string): void => {
        try {
          finish(undefined, JSON.parse(message) as ApprovalAnswer);
        } catch (error) {
          finish(error);
        }
      };
      // Subscribed first, then read: an answer given in between is in the key.
      const check = (): void => {
        this.#command(() => this.#cmd.get(key)).then(
          (value) => {
            if (value === null) finish(new StoreError('not_found', `No approval ${JSON.stringify(approvalId)} in stream ${JSON.stringify(streamId)}.`));
            else if (value !== '') answered(value);
          },
          (error: unknown) => this.#onError(error),
        );
      };
      const onAbort = (): void => finish(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#approvalWaits.set(channel, { subscribed: false, check, answered });
      const sub = this.#subscriber();
      // Not connected yet: the subscriber's 'ready' handler subscribes it.
      if (sub.isReady) this.#subscribeApproval(sub, channel);
    });
  }

  #subscribeApproval(sub: Client, channel: string): void {
    const wait = this.#approvalWaits.get(channel);
    if (wait === undefined) return;
    if (wait.subscribed) {
      wait.check();
      return;
    }
    wait.subscribed = true;
    sub.subscribe(channel, (message) => this.#approvalWaits.get(channel)?.answered(message)).then(
      () => wait.check(),
      (error: unknown) => {
        wait.subscribed = false;
        this.#onError(error);
      },
    );
  }

  #approvalKey(keys: StreamKeys, approvalId: string): string {
    return `${keys.state.slice(0, -':state'.length)}:approval:${approvalId}`;
  }

  // ---- chats and topics ----------------------------------------------------------------------

  async setChatStream(chatId: string, streamId: string | undefined, owner?: string): Promise<void> {
    const key = this.#chatKey(chatId, owner);
    if (streamId === undefined) await this.#command(() => this.#cmd.del(key));
    else await this.#command(() => this.#cmd.set(key, streamId, { expiration: { type: 'PX', value: this.#ttlMs } }));
  }

  async getChatStream(chatId: string, owner?: string): Promise<string | undefined> {
    const streamId = await this.#command(() => this.#cmd.get(this.#chatKey(chatId, owner)));
    if (streamId === null) return undefined;
    const exists = await this.#command(() => this.#cmd.exists(this.#keys(streamId).state));
    return exists === 1 ? streamId : undefined;
  }

  async publish(topic: string, event: Omit<TopicEvent, 'id'>, options: PublishOptions = {}): Promise<string> {
    const value = event.event === undefined ? { data: event.data } : { event: event.event, data: event.data };
    const json = JSON.stringify(value);
    const size = utf8Length(json);
    if (size > this.#maxTopicBytes) throw new StoreError('full', `The event is ${size} bytes; a topic's history keeps at most ${this.#maxTopicBytes} (maxTopicBytes).`);
    const key = this.#topicKey(topic, options.owner);
    const id = (await this.#run(SCRIPTS.publish, [key, `${key}~bytes`], [this.#topicHistory, json, this.#ttl, String(size), String(this.#maxTopicBytes)])) as string;
    this.#notify(key);
    return id;
  }

  subscribe(topic: string, options: { after?: string; signal?: AbortSignal; owner?: string | undefined } = {}): AsyncIterable<TopicEvent> {
    const key = this.#topicKey(topic, options.owner);
    const after = options.after;
    const backend: FollowerBackend<TopicEvent> = {
      consecutive: false,
      start: async (follower) => {
        this.#track(follower);
        const last = (await this.#command(() => this.#cmd.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', '1']))) as RawEntry[];
        const [lastMs, lastSeq] = last[0] === undefined ? [0, 0] : parseId(last[0][0]);
        if (after !== undefined && /^\d{1,15}(-\d{1,15})?$/.test(after)) {
          const [ms, seq] = parseId(after);
          // An id past the end (another topic's, a stale one) follows from the end.
          if (ms < lastMs || (ms === lastMs && seq < lastSeq)) return { ms, seq, done: false };
        }
        // Without an id of ours: from the end.
        return { ms: lastMs, seq: lastSeq, done: false };
      },
      range: (ms, seq, count) => this.#range(key, ms, seq, count, parseTopicEntry),
      isEnd: () => false,
      follow: (follower, ms, seq) => this.#follow(key, 'topic', topic, follower, ms, seq),
      unfollow: (follower) => this.#unfollow(key, follower),
      release: (follower) => this.#readers.delete(follower),
      toError: toStoreError,
    };
    return new RedisFollower(backend, options.signal);
  }

  /** The quotas' counters, on this store's command connection and under its key prefix. */
  quotaBackend(): QuotaBackend {
    const leases: LeaseSet = {
      acquire: async (key, holder, limit, ttlMs) =>
        (await this.#run(SCRIPTS.leaseAcquire, [key], [holder, String(limit), String(Date.now()), String(ttlMs)])) === 1,
      renew: async (held, ttlMs) => {
        const expiry = String(Date.now() + ttlMs);
        await Promise.all(held.map(([key, holder]) => this.#run(SCRIPTS.leaseRenew, [key], [holder, expiry, String(ttlMs)])));
      },
      release: async (key, holder) => {
        await this.#command(() => this.#cmd.zRem(key, holder));
      },
    };
    // The rate limiter sends its own commands: they are bounded like the store's (a paused Redis
    // must not hang every new request in the limiter; on a timeout it counts in memory instead).
    const client = this.#cmd instanceof ClusterConnection ? this.#cmd.cluster : this.#cmd;
    return { client: withCommandTimeouts(client, (promise) => this.#bounded(promise)), keyPrefix: `${this.#prefix}quota:`, leases };
  }

  /** Tracks a read from its first `next()` until it ends, so that close() ends it. */
  #track<T>(follower: RedisFollower<T>): void {
    if (this.#closed) follower.end();
    else this.#readers.add(follower);
  }

  // ---- life cycle ----------------------------------------------------------------------------

  async ready(): Promise<boolean> {
    if (this.#closed || !this.#cmd.isReady) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(resolve, PING_TIMEOUT_MS, false);
      });
      return await Promise.race([this.#cmd.ping().then(() => true), timeout]);
    } catch {
      // Unreachable right now: that is the answer.
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Destroying a client while its first connection is being made leaves that socket open (the
    // process would never exit): let the first attempt settle first (at most FIRST_CONNECT_WAIT_MS).
    if (this.#starting !== undefined) await this.#starting;
    for (const timer of this.#timers) clearInterval(timer);
    this.#writers.clear();
    for (const follower of [...this.#readers]) follower.end();
    this.#feeds.clear();
    this.#feedAdded?.();
    // The reader may sit in a blocking XREAD and the subscriber has nothing to flush: drop them.
    if (this.#reader !== this.#cmd) this.#reader.destroy();
    this.#sub?.destroy();
    if (this.#cmd.isReady) await this.#cmd.close();
    else this.#cmd.destroy();
  }

  // ---- the shared reader ---------------------------------------------------------------------

  #follow<T extends StoredEvent | TopicEvent>(
    key: string,
    kind: Feed['kind'],
    streamId: string,
    follower: RedisFollower<T>,
    ms: number,
    seq: number,
  ): void {
    if (this.#closed) {
      follower.end();
      return;
    }
    let feed = this.#feeds.get(key);
    if (feed === undefined) {
      feed = { key, kind, streamId, ms, seq, followers: new Set() };
      this.#feeds.set(key, feed);
      this.#wake();
      if (this.#cluster) this.#watch(feed);
    }
    feed.followers.add(follower);
  }

  #unfollow<T extends StoredEvent | TopicEvent>(key: string, follower: RedisFollower<T>): void {
    const feed = this.#feeds.get(key);
    if (feed === undefined) return;
    feed.followers.delete(follower);
    // The reader drops the key from its next XREAD.
    if (feed.followers.size === 0) {
      this.#feeds.delete(key);
      if (this.#cluster) this.#unwatch(feed);
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
    this.#cmd
      .sendCommand(['XADD', this.#wakeKey, 'MAXLEN', '~', '16', '*', 'w', '1'])
      .then(() => this.#cmd.sendCommand(['PEXPIRE', this.#wakeKey, String(BLOCK_MS * 4)]))
      .catch((error: unknown) =>
        // Redis is unreachable: the reader's XREAD fails too and its followers end with `unavailable`.
        this.#onError(error),
      );
  }

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      if (this.#feeds.size === 0) {
        await new Promise<void>((resolve) => {
          this.#feedAdded = resolve;
        });
        continue;
      }
      if (!this.#reader.isReady) {
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
        reply = (await withTimeout(this.#reader.sendCommand(command), BLOCK_MS + COMMAND_TIMEOUT_MS)) as typeof reply;
        this.#outageSince = undefined;
      } catch (error) {
        if (this.#closed) return;
        // An outage: the followers keep their place and wait (up to the budget) for Redis to come
        // back; with its data they go on where they were, without it #checkLeases ends them (not_found).
        this.#outageSince ??= Date.now();
        const left = OUTAGE_BUDGET_MS - (Date.now() - this.#outageSince);
        if (left <= 0 || !(await this.#readerReady(left, true))) {
          this.#outageSince = undefined;
          this.#failFollowers(toStoreError(error));
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
        this.#onError(error);
      }
      // Entries came: the next XREAD waits for what the next few ms bring (see READ_INTERVAL_MS).
      const wait = readAt + READ_INTERVAL_MS - Date.now();
      if (wait > 0 && !this.#closed) await new Promise((resolve) => unref(setTimeout(resolve, wait)));
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
    while (!this.#closed) {
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
      if (this.#closed) return;
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
        const reply = (await this.#bounded(this.#cmd.sendCommand(['XREAD', 'COUNT', String(XREAD_COUNT), 'STREAMS', feed.key, `${feed.ms}-${feed.seq}`]))) as
          | [key: string, entries: RawEntry[]][]
          | null;
        if (this.#closed || this.#feeds.get(feed.key) !== feed || reply === null) return;
        if ((reply[0]?.[1].length ?? 0) >= XREAD_COUNT) feed.again = true;
        try {
          this.#dispatch(reply);
        } catch (error) {
          // A bug in a follower must not stop the reads of every other follower.
          this.#onError(error);
        }
      } while (feed.again === true);
    } finally {
      feed.reading = false;
    }
  }

  /** Cluster: tells the key's followers on every instance that it has new entries. */
  #notify(key: string): void {
    if (!this.#cluster) return;
    this.#cmd.sendCommand(['SPUBLISH', key, '']).catch((error: unknown) =>
      // The followers' sweep reads the key within CLUSTER_SWEEP_MS anyway.
      this.#onError(error),
    );
  }

  /** Cluster: listens for a followed key's notifications; once subscribed, reads what came before. */
  #watch(feed: Feed): void {
    feed.notified = (): void => {
      if (this.#feeds.get(feed.key) === feed) this.#readFeed(feed).catch((error: unknown) => this.#onError(error));
    };
    const sub = this.#subscriber();
    // Not connected yet: the subscriber's 'ready' handler subscribes it.
    if (sub.isReady) this.#subscribeFeed(sub, feed);
  }

  #subscribeFeed(sub: Client, feed: Feed): void {
    const listener = feed.notified;
    if (listener === undefined) return;
    sub.sSubscribe(feed.key, listener).then(listener, (error: unknown) => this.#onError(error));
  }

  /** Cluster: stops listening for a key's notifications (this feed's listener only: a newer feed of the key keeps its own). */
  #unwatch(feed: Feed): void {
    const listener = feed.notified;
    if (listener === undefined) return;
    feed.notified = undefined;
    this.#sub?.sUnsubscribe(feed.key, listener).catch((error: unknown) => this.#onError(error));
  }

  /**
   * Resolves true once the reader is connected, false after `ms`. With `settle`, a reader that
   * still looks connected (its socket is open, Redis does not answer) is given a short pause first.
   */
  #readerReady(ms: number, settle = false): Promise<boolean> {
    if (settle && this.#reader.isReady) return new Promise((resolve) => setTimeout(resolve, Math.min(ms, APPEND_RETRY_MS), true));
    return new Promise((resolve) => {
      const done = (ready: boolean): void => {
        this.#reader.off('ready', onReady);
        clearTimeout(timer);
        resolve(ready);
      };
      const onReady = (): void => done(true);
      this.#reader.on('ready', onReady);
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
        if (ms < feed.ms || (ms === feed.ms && seq <= feed.seq)) continue;
        feed.ms = ms;
        feed.seq = seq;
        try {
          entries.push({ ms, seq, value: parse(id, fields) });
        } catch (error) {
          // Not written by sluice (or by an incompatible version): skip the entry, say so.
          this.#onError(error);
        }
      }
      if (entries.length === 0) continue;
      for (const follower of feed.followers) follower.push(entries);
    }
  }

  #failFollowers(error: unknown): void {
    const feeds = [...this.#feeds.values()];
    this.#feeds.clear();
    if (this.#cluster) for (const feed of feeds) this.#unwatch(feed);
    for (const feed of feeds) for (const follower of feed.followers) follower.fail(error);
  }

  // ---- timers --------------------------------------------------------------------------------

  #every(ms: number, task: () => void): void {
    const timer = setInterval(task, ms);
    unref(timer);
    this.#timers.push(timer);
  }

  #heartbeat(): void {
    if (!this.#cmd.isReady) return;
    for (const writer of this.#writers) {
      const { keys } = writer;
      this.#run(SCRIPTS.heartbeat, [keys.state, keys.lease, keys.log, keys.followers, keys.request], [String(writer.token), this.#lease, this.#ttl]).then(
        (held) => {
          if (held === 0) this.#writers.delete(writer);
        },
        (error: unknown) =>
          // A missed heartbeat: the next one renews the lease unless it ran out meanwhile.
          this.#onError(error),
      );
    }
  }

  /** Takes over the followed streams whose producer holds no lease (their followers then get `producer_lost`). */
  #checkLeases(): void {
    if (!this.#cmd.isReady) return;
    for (const feed of this.#feeds.values()) {
      if (feed.kind !== 'stream') continue;
      this.#takeover(this.#keys(feed.streamId), feed.streamId).then(
        (result) => {
          if (result !== -1 || this.#feeds.get(feed.key) !== feed) return;
          this.#feeds.delete(feed.key);
          const error = new StoreError('not_found', `Stream ${JSON.stringify(feed.streamId)} expired while it was followed.`);
          for (const follower of feed.followers) follower.fail(error);
        },
        (error: unknown) => this.#onError(error),
      );
    }
  }

  #refreshAttached(ids: Iterable<string> = this.#attached.keys()): void {
    if (!this.#cmd.isReady) return;
    const expires = String(Date.now() + this.#attachTtlMs);
    for (const id of ids) {
      const key = this.#keys(id).followers;
      this.#cmd
        .sendCommand(['ZADD', key, expires, this.#instance])
        .then(() => this.#cmd.sendCommand(['PEXPIRE', key, this.#ttl]))
        .catch((error: unknown) => this.#onError(error));
    }
  }

  #checkStop(writer: RedisWriter): void {
    if (!writer.listening) return;
    this.#command(() => this.#cmd.hGet(writer.keys.state, 'stop')).then(
      (reason) => {
        if (reason !== null && reason !== undefined) writer.stopped(reason);
      },
      (error: unknown) => this.#onError(error),
    );
  }

  // ---- helpers -------------------------------------------------------------------------------

  #subscriber(): Client {
    if (this.#sub !== undefined) return this.#sub;
    const sub = this.#cmd.duplicate();
    this.#sub = sub;
    this.#connect(sub);
    // On the first connection, subscribe the writers that asked meanwhile; after a reconnect
    // (node-redis subscribes again by itself), a stop published during the outage is only in the
    // state hash.
    sub.on('ready', () => {
      for (const writer of this.#stopWriters.values()) {
        if (this.#channels.has(writer.keys.stop)) this.#checkStop(writer);
        else this.#subscribeChannel(sub, writer);
      }
      for (const channel of this.#approvalWaits.keys()) this.#subscribeApproval(sub, channel);
      // A cluster's followed keys (a listener already subscribed is not added twice).
      if (this.#cluster) for (const feed of this.#feeds.values()) this.#subscribeFeed(sub, feed);
    });
    return sub;
  }

  #connect(client: Client): void {
    client.on('error', (error: unknown) => this.#onError(error));
    client.connect().catch((error: unknown) =>
      // Only when the store closes before the first connection; reconnecting is the client's job.
      this.#onError(error),
    );
  }

  /**
   * Checks the lease of a running stream: a lost producer's run is claimed when this instance takes
   * runs over (and the run can be), else ended with `producer_lost` (see the TAKEOVER script).
   * Resolves -1 for an unknown stream, else the last id and whether the stream is done.
   */
  async #takeover(keys: StreamKeys, id: string): Promise<-1 | [lastId: number, done: number]> {
    const handler = this.#closed ? undefined : this.#takeoverHandler;
    const result = (await this.#run(SCRIPTS.takeover, [keys.log, keys.state, keys.lease, keys.request], [
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
    if (outcome === 1 && result.length > 2) this.#notify(keys.log);
    if (outcome === 2 && handler !== undefined) {
      this.#claimed(handler, id, keys, lastId, token ?? 0, [takeovers ?? 0, last ?? 0], request ?? '');
      return [lastId, 0];
    }
    if (outcome === 1 && last === 1) {
      try {
        this.#takeoverHandler?.exhausted?.(id);
      } catch (error) {
        this.#onError(error);
      }
    }
    return [lastId, outcome === 1 ? 1 : 0];
  }

  /** This instance won a lost producer's lease: its writer now, and the handler continues the run. */
  #claimed(handler: TakeoverHandler, id: string, keys: StreamKeys, lastId: number, token: number, [takeovers, maxTakeovers]: [number, number], request: string): void {
    const writer = new RedisWriter(this, id, token, keys, lastId);
    this.#writers.add(writer);
    const hand = async (): Promise<void> => {
      const info = await this.info(id);
      if (info === undefined) throw new StoreError('not_found', `Stream ${JSON.stringify(id)} expired as it was taken over.`);
      // Unregistered meanwhile (the instance drains): let another instance have it.
      if (this.#takeoverHandler !== handler || this.#closed) {
        await writer.handOver();
        return;
      }
      handler.claimed({ info, writer, request: request === '' ? undefined : (JSON.parse(request) as unknown), lastId, takeovers, maxTakeovers });
    };
    hand().catch((error: unknown) => {
      this.#onError(error);
      // Nobody continues it: end it as a lost producer (our token holds the stream).
      writer.append(producerLostEvent()).catch(() => undefined);
    });
  }

  /** Gives `writer`'s lease up (a draining instance hands its run over). */
  async handOver(writer: RedisWriter): Promise<boolean> {
    const { keys } = writer;
    return (await this.#run(SCRIPTS.handOver, [keys.state, keys.lease], [String(writer.token)])) === 1;
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
  #scanTakeovers(): void {
    if (this.#takeoverHandler === undefined || this.#scanning || !this.#cmd.isReady) return;
    this.#scanning = true;
    const scan = async (): Promise<void> => {
      const start = this.#scanCursor;
      const ids = (await this.#command(() =>
        this.#cmd.sendCommand(['ZRANGE', this.#runsKey, String(start), String(start + TAKEOVER_SCAN_BATCH - 1)]),
      )) as string[];
      this.#scanCursor = ids.length < TAKEOVER_SCAN_BATCH ? 0 : start + ids.length;
      const gone: string[] = [];
      await Promise.all(
        ids.map(async (id) => {
          const keys = this.#keys(id);
          if (this.#feeds.has(keys.log)) return;
          const result = await this.#takeover(keys, id);
          if (result === -1 || result[1] === 1) gone.push(id);
        }),
      );
      if (gone.length > 0) await this.#command(() => this.#cmd.sendCommand(['ZREM', this.#runsKey, ...gone]));
    };
    scan()
      .catch((error: unknown) => this.#onError(error))
      .finally(() => (this.#scanning = false));
  }

  async #range<T>(key: string, ms: number, seq: number, count: number, parse: (id: string, fields: string[]) => T): Promise<FeedEntry<T>[]> {
    const raw = (await this.#command(() => this.#cmd.sendCommand(['XRANGE', key, `(${ms}-${seq}`, '+', 'COUNT', String(count)]))) as RawEntry[];
    return raw.map(([id, fields]) => {
      const [entryMs, entrySeq] = parseId(id);
      return { ms: entryMs, seq: entrySeq, value: parse(id, fields) };
    });
  }

  /** Runs a script by SHA1, loading it when Redis does not know it (first use, or after a restart). */
  async #run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    if (!this.#cmd.isReady && this.#starting !== undefined) await this.#starting;
    try {
      return await this.#bounded(this.#cmd.sendCommand(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]));
    } catch (error) {
      if (error instanceof ErrorReply && error.message.startsWith('NOSCRIPT')) {
        try {
          return await this.#bounded(this.#cmd.sendCommand(['EVAL', script.source, String(keys.length), ...keys, ...args]));
        } catch (evalError) {
          throw toStoreError(evalError);
        }
      }
      throw toStoreError(error);
    }
  }

  /**
   * A command's reply, bounded: {@link COMMAND_TIMEOUT_MS}, or only {@link UNRESPONSIVE_TIMEOUT_MS}
   * once a command timed out and none has been answered since (a request that needs several
   * commands — rate limit, quota, create — is refused in about 2 s, not 2 s per command).
   */
  async #bounded<T>(promise: Promise<T>): Promise<T> {
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

  async #command<T>(run: () => Promise<T>): Promise<T> {
    if (!this.#cmd.isReady && this.#starting !== undefined) await this.#starting;
    try {
      return await this.#bounded(run());
    } catch (error) {
      throw toStoreError(error);
    }
  }

  #keys(id: string): StreamKeys {
    const base = `${this.#prefix}{${id}}`;
    return {
      log: `${base}:log`,
      state: `${base}:state`,
      lease: `${base}:lease`,
      followers: `${base}:followers`,
      stop: `${base}:stop`,
      request: `${base}:request`,
    };
  }

  #chatKey(chatId: string, owner: string | undefined): string {
    return `${this.#prefix}chat:${encodeURIComponent(owner ?? '')}:${chatId}`;
  }

  /**
   * An owned topic's key has `~` (never in a topic name) before its owner: no name reaches another
   * owner's. Its byte counter is the key and `~bytes`, which no topic's key can be either.
   */
  #topicKey(topic: string, owner: string | undefined): string {
    const key = owner === undefined ? `topic:${topic}` : `topic:~${encodeURIComponent(owner)}:${topic}`;
    if (!this.#cluster) return `${this.#prefix}${key}`;
    // On a cluster a hash tag of its own first (a topic name may hold braces), so the topic and its byte counter share a slot.
    return `${this.#prefix}{${createHash('sha1').update(key).digest('hex').slice(0, 16)}}${key}`;
  }
}

function parseStreamEntry(id: string, fields: string[]): StoredEvent {
  return { id: parseId(id)[0], event: JSON.parse(fields[1] as string) as AgentEvent };
}

function parseTopicEntry(id: string, fields: string[]): TopicEvent {
  const value = JSON.parse(fields[1] as string) as { event?: string; data: unknown };
  return value.event === undefined ? { id, data: value.data } : { id, event: value.event, data: value.data };
}

/** Maps a Redis failure to a {@link StoreError}: a script's refusal to its code, a broken connection to `unavailable`. */
function toStoreError(error: unknown): unknown {
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
    // An error reply that is no outage (a bug, a wrong key type): as it is.
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError('unavailable', `Redis is unreachable (${reason}); the store reconnects in the background.`, { cause: error });
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
