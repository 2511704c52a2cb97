/**
 * Contract types of the stream store: a log of a generation's events that outlives the HTTP
 * responses reading it. A run (a chat, a job) appends every event, its terminal one included;
 * every response, the first as well as a resumed one, is a follower that replays the log from an
 * event id and then follows it live. Backends: memory (default, one process) and Redis (shared by
 * every instance). Both pass one contract suite.
 *
 * @module
 */
import type { AgentEvent } from '../protocol/types.ts';

/** An event as stored: its id is 1, 2, 3 … within its stream, never skipping. */
export interface StoredEvent {
  id: number;
  event: AgentEvent;
}

/** The events that end a stream. */
export type TerminalEvent = Extract<AgentEvent, { type: 'finish' | 'error' | 'abort' }>;

/** What the store knows of a stream. */
export interface StreamInfo {
  id: string;
  /** The API key (or its hash) that created it; undefined when auth is off. */
  owner?: string;
  /** What produced it: `chat`, `job`, … */
  kind: string;
  /** `running` until a terminal event is appended, then `done`. */
  state: 'running' | 'done';
  /** The id of the last event appended (0 when none). */
  lastId: number;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Free-form metadata given at creation (the job's kind, the chat id, …). */
  meta: Record<string, string>;
  /** The fencing token of the stream's current producer (1 for the one that created it; each takeover adds 1). */
  token?: number;
  /** How many times another instance took the run over. */
  takeovers?: number;
}

/** Options of {@link StreamStore.create}. */
export interface CreateStreamOptions {
  /** The stream id: random, at least 122 bits (a UUID v4). */
  id: string;
  owner?: string;
  /** @defaultValue `'chat'` */
  kind?: string;
  meta?: Record<string, string>;
  /**
   * The run's request (JSON; messages, model, tool names, options — never secrets), kept with the
   * log so that another instance can take the run over when its producer dies or drains (see
   * {@link StreamStore.onTakeover}). A stream without one ends with `producer_lost` as before.
   */
  request?: unknown;
  /** How many times the run may be taken over (`SLUICE_MAX_TAKEOVERS`); only with `request`. @defaultValue 0 */
  maxTakeovers?: number;
}

/** A run this instance took over: it holds the lease with a new fencing token and must continue it. */
export interface TakeoverClaim {
  /** The stream. */
  info: StreamInfo;
  /** The new producer's handle (its first append gets id `lastId + 1`). */
  writer: StreamWriter;
  /** The request stored at creation. */
  request: unknown;
  /** The id of the last event in the log when the lease was taken (the old producer is fenced: nothing follows it but ours). */
  lastId: number;
  /** This takeover's number: 1 for the first. */
  takeovers: number;
  /** How many the run may have (stored at its creation). */
  maxTakeovers: number;
}

/** What {@link StreamStore.onTakeover} calls. */
export interface TakeoverHandler {
  /** A run was claimed by this instance. Continue it with `claim.writer`, or end it (`producer_lost`). */
  claimed(claim: TakeoverClaim): void;
  /** A run whose producer was lost ended with `producer_lost` because it was taken over `maxTakeovers` times already. */
  exhausted?(id: string): void;
}

/**
 * The producer's handle on a stream it created: it holds the stream's lease (renewed by a
 * heartbeat while the handle is open) and a fencing token. Once the lease is lost (the producer
 * stalled past the lease time and a follower declared it lost), every append rejects with a
 * `StoreError` whose code is `fenced`: a stale producer never interleaves with anyone.
 */
export interface StreamWriter {
  readonly id: string;
  /** The fencing token this writer holds. */
  readonly token: number;
  /**
   * Appends an event; resolves with its id. A terminal event ends the stream (state `done`) and
   * releases the lease; appending after that rejects with code `ended`.
   */
  append(event: AgentEvent): Promise<number>;
  /**
   * Appends an event at once and returns its id, or throws what `append` would reject with. Only
   * stores that append in the calling process have it (the memory store); a producer uses it when
   * present, and saves a promise and its microtask per event.
   */
  appendNow?(event: AgentEvent): number;
  /**
   * Calls `listener` once when a stop is requested for this stream from any instance
   * ({@link StreamStore.requestStop}). Returns an unsubscribe function.
   */
  onStop(listener: (reason: string) => void): () => void;
  /** Stops the lease heartbeat and listeners without ending the stream (the instance is going away). */
  close(): Promise<void>;
  /**
   * Gives up the lease at once without ending the stream, so that an instance taking runs over
   * continues it now (a draining instance). Only stores shared between instances have it; resolves
   * false when this writer did not hold the stream any more. Append nothing after it.
   */
  handOver?(): Promise<boolean>;
}

/** Options of {@link StreamStore.read}. */
export interface ReadOptions {
  /** Replay events whose id is greater than this (0 = from the start), in order, then follow live. @defaultValue 0 */
  after?: number;
  /** Stops following; the iterator then ends without error. */
  signal?: AbortSignal;
}

/** A published event of a topic (event push). */
export interface TopicEvent {
  /** Increasing within a topic; usable as `Last-Event-ID`. */
  id: string;
  /** The SSE event name; undefined for the default `message`. */
  event?: string;
  data: unknown;
}

/** A decision on a pending approval (`approval-response`). */
export interface ApprovalAnswer {
  approved: boolean;
  /** Why, in the decider's words; `timeout` when nobody answered in time. */
  reason?: string;
}

/** What {@link StreamStore.answerApproval} did: recorded it, found it answered already, or found no such pending approval. */
export type AnswerApprovalResult = 'answered' | 'already_answered' | 'not_found';

/**
 * Options shared by every backend. Times are in milliseconds.
 */
export interface StoreOptions {
  /**
   * How long a finished stream stays readable after its terminal event (running streams are kept
   * while their producer holds the lease). Also the lifetime of a topic's history after its last
   * event and of a chat's active-stream entry.
   * @defaultValue 3_600_000 (1 hour)
   */
  ttlMs?: number;
  /**
   * How long a producer's lease lasts without a heartbeat. A stream whose producer holds no lease
   * any more is ended by its followers with an `error` event, code `producer_lost`.
   * @defaultValue 10_000
   */
  leaseMs?: number;
  /** How often a writer renews its lease and its stream's time to live (Redis), at most `leaseMs / 2` and `ttlMs / 2`. @defaultValue 3_000 */
  heartbeatMs?: number;
  /**
   * How long an attached follower counts as present without a heartbeat from its instance (Redis:
   * an instance that dies leaves no follower attached for longer than this).
   * @defaultValue 15_000
   */
  attachTtlMs?: number;
  /** How many events a topic keeps for `subscribe({ after })`. @defaultValue 1000 */
  topicHistory?: number;
  /**
   * The most bytes (UTF-8, of the stored JSON) a topic's history keeps: older events are dropped
   * first, as they are past `topicHistory` events. @defaultValue 1_048_576 (1 MiB)
   */
  maxTopicBytes?: number;
}

/** Options of {@link StreamStore.publish}. */
export interface PublishOptions {
  /**
   * The key (a hash of it) that owns the topic: topics of different owners never mix, even under
   * one name. Undefined: the shared namespace (auth off, or a topic shared on purpose).
   */
  owner?: string | undefined;
}

/**
 * Leases of a concurrency limit, shared by every instance of a backend: a set of holders per key,
 * each with an expiry renewed while it is held, so a crashed instance's leases lapse by themselves.
 */
export interface LeaseSet {
  /**
   * Adds `holder` to the set `key` (or renews it when it is there) unless `limit` live holders are
   * in it already.
   * @returns true when `holder` holds a lease now
   */
  acquire(key: string, holder: string, limit: number, ttlMs: number): Promise<boolean>;
  /** Pushes the expiry of held leases `ttlMs` from now. */
  renew(leases: readonly (readonly [key: string, holder: string])[], ttlMs: number): Promise<void>;
  /** Gives a lease back. */
  release(key: string, holder: string): Promise<void>;
}

/** What a store offers the server's quotas to share their counters across instances. */
export interface QuotaBackend {
  /** The connected client rate-limiter-flexible counts with (node-redis: `useRedisPackage: true`). */
  readonly client: unknown;
  /** The prefix of every quota key. */
  readonly keyPrefix: string;
  /** The concurrency limits' leases. */
  readonly leases: LeaseSet;
}

/** A stream store. */
export interface StreamStore {
  /** `memory` or `redis`. */
  readonly kind: string;
  /** Creates a stream and returns its writer (holding the lease). Rejects with code `exists` when the id is taken. */
  create(options: CreateStreamOptions): Promise<StreamWriter>;
  /** What the store knows of a stream, or undefined when it is unknown or expired. */
  info(id: string): Promise<StreamInfo | undefined>;
  /**
   * Replays the events after `options.after`, then follows live; ends after the terminal event
   * (or when `signal` aborts). When the producer's lease runs out while the stream is running,
   * the store appends `{type:'error', code:'producer_lost'}` as the terminal event (fencing the
   * old producer), so every follower ends the same way. The first `next()` rejects with code
   * `not_found` for an unknown or expired stream, and with code `ahead_of_log` when `after` is past
   * the stream's last id (never clamped: the events that follow would not be the ones after the
   * caller's id); a broken backend connection makes `next()` reject with code `unavailable`. The event
   * objects may be shared between followers: treat them as read-only. The iterable can be
   * iterated once.
   */
  read(id: string, options?: ReadOptions): AsyncIterable<StoredEvent>;
  /** Asks the producer (on whichever instance) to stop. Resolves false when the stream is unknown or done. */
  requestStop(id: string, reason: string): Promise<boolean>;
  /**
   * Marks a follower attached to a stream until the returned function is called (across
   * instances: kept alive by a heartbeat). Used for the detach grace.
   */
  attach(id: string): () => void;
  /**
   * Epoch milliseconds when the last follower anywhere detached, `undefined` while one is
   * attached (or none ever attached: then the stream's creation time is returned). A follower on an
   * instance that died counts as detached once its attachment expires (`attachTtlMs`). `undefined`
   * for an unknown stream.
   */
  detachedSince(id: string): Promise<number | undefined>;
  /**
   * Registers a pending approval of a stream's producer, so that any instance can answer it. Call
   * it before the `approval-request` event is appended, so an answer can never come first. Kept
   * as long as the stream (at least `ttlMs`).
   */
  openApproval(streamId: string, approvalId: string): Promise<void>;
  /**
   * Records the decision on a pending approval, once: the first answer wins (from any instance,
   * the producer's own timeout included) and wakes {@link StreamStore.waitApproval}.
   * @returns `answered`, `already_answered` (a later answer changes nothing), or `not_found`
   */
  answerApproval(streamId: string, approvalId: string, answer: ApprovalAnswer): Promise<AnswerApprovalResult>;
  /**
   * Resolves with the decision once one is recorded (at once when it already is), on whichever
   * instance it was given; rejects with the signal's reason when `signal` aborts, and with code
   * `not_found` when the approval was never opened.
   */
  waitApproval(streamId: string, approvalId: string, options?: { signal?: AbortSignal }): Promise<ApprovalAnswer>;
  /** Remembers (or forgets, with `undefined`) the active stream of a chat (the AI SDK's resume). */
  setChatStream(chatId: string, streamId: string | undefined, owner?: string): Promise<void>;
  /** The active stream of a chat, if any (undefined once that stream has expired). */
  getChatStream(chatId: string, owner?: string): Promise<string | undefined>;
  /**
   * Publishes on a topic (kept in a short per-topic history, bounded in events and bytes); resolves
   * with the event's id. The memory store rejects with code `full` when the event does not fit its
   * byte bound.
   */
  publish(topic: string, event: Omit<TopicEvent, 'id'>, options?: PublishOptions): Promise<string>;
  /** Events of a topic after `after` (within the history), then live, until `signal` aborts. */
  subscribe(topic: string, options?: { after?: string; signal?: AbortSignal; owner?: string | undefined }): AsyncIterable<TopicEvent>;
  /**
   * Makes this instance one that takes runs over: when the producer of a running stream that was
   * created with a `request` holds no lease any more (it died, or handed over), and the run was taken
   * over fewer than `maxTakeovers` times, exactly one such instance wins the lease with a new fencing
   * token (atomically) and `handler.claimed` is called there. Streams followed on this instance are
   * checked as the lease checks run, the others by a bounded periodic scan. Returns the unregister
   * function. A store that only lives in one process never claims (its producers die with it).
   */
  onTakeover?(handler: TakeoverHandler): () => void;
  /**
   * Counters shared by every instance on this backend, for the server's quotas; absent when the
   * store is one process's (memory), whose quotas count in that process.
   */
  quotaBackend?(): QuotaBackend;
  /** Whether the backend is reachable now (`/readyz`). */
  ready(): Promise<boolean>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
