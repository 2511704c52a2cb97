/**
 * Redis Cluster (`redis+cluster://host:port,…`, docs/redis-cluster.md) for the Redis store: the
 * same scripts (a stream's keys share the hash tag `{<id>}`, a topic's its own), through
 * node-redis's cluster client behind {@link ClusterConnection}; the live tail is notified by
 * sharded pub/sub instead of one blocking XREAD (see RedisReader#pollLoop in redis-reader.ts).
 *
 * @module
 */
import type * as Redis from 'redis';
import { reconnectDelay, type ErrorReplyClass } from './redis-connection.ts';
import * as scripts from './redis-scripts.ts';

type Cluster = ReturnType<typeof Redis.createCluster>;

/** The scheme of a cluster URL (`redis+cluster://host:port,host:port`, `rediss+cluster://` for TLS). */
const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

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
export class ClusterConnection {
  readonly cluster: Cluster;
  readonly #ErrorReply: ErrorReplyClass;
  readonly #listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  #closed = false;
  #rediscoveredAt = 0;

  constructor(cluster: Cluster, ErrorReply: ErrorReplyClass) {
    this.cluster = cluster;
    this.#ErrorReply = ErrorReply;
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
      if (!(error instanceof this.#ErrorReply) || scripts.isTransientReply(error.message)) this.#rediscover();
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
    return new ClusterConnection(this.cluster.duplicate(), this.#ErrorReply);
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

