/**
 * The memory stream store: one process, bounded in bytes and time.
 *
 * Followers are woken without polling: each stream keeps the list of followers that have read
 * everything and wait; an append hands the new event straight to each of them by resolving the
 * promise their `next()` returned, so a live follower costs one promise per event (the one the
 * async-iterator protocol asks for) and no timer.
 *
 * The byte bound counts an event's JSON text, so whatever a client shapes is kept as that text,
 * not parsed: a topic event, and a stream event that carries a value of any shape (the stream's
 * {@link EventLog} keeps those packed, see event-log.ts). Parsed, a JSON text of many small objects
 * (`[{},{},…]`) costs some twenty times its size in heap; kept as text it costs its size (twice
 * that at most, for text outside Latin-1), and it is parsed again when read — a topic's newest
 * event once for all the subscribers reading it together.
 *
 * @module
 */
import { EventLog, followEvent, packedJson, type LogCursor } from './event-log.ts';
import { eventJsonBytes, isPlainDelta } from './event-size.ts';
import { utf8Length } from '../core/utf8-length.ts';
import { isTerminalEvent, type AgentEvent } from '../protocol/types.ts';
import { StoreError, aheadOfLog, producerLostEvent } from './errors.ts';
import { MemoryApprovals } from './memory-approvals.ts';
import { decodeTopicEvent, encodeTopicEvent } from './topic-event.ts';
import type {
  AnswerApprovalResult,
  ApprovalAnswer,
  CreateStreamOptions,
  PublishOptions,
  ReadOptions,
  StoreOptions,
  StoredEvent,
  StreamInfo,
  StreamStore,
  StreamWriter,
  TopicEvent,
} from './types.ts';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions extends StoreOptions {
  /**
   * The bound on the stored events' size, summed over every stream and topic history (an event's
   * size is the UTF-8 length of its JSON text). Over the bound, finished streams are evicted,
   * oldest finished first. Newcomers — `create()` and `publish()` — are admitted only while the
   * store is under three quarters of the bound ({@link NEWCOMER_SHARE}), so the streams already
   * running keep the last quarter to finish in; when they cannot fit either, they reject with code
   * `full` (non-terminal appends at the whole bound). A terminal event is always accepted, so
   * every stream can still end.
   * @defaultValue 67_108_864 (64 MiB)
   */
  maxBytes?: number;
}

const DEFAULTS = {
  ttlMs: 3_600_000,
  leaseMs: 10_000,
  maxBytes: 64 * 1024 * 1024,
  topicHistory: 1000,
  maxTopicBytes: 1024 * 1024,
} as const;

/**
 * The share of `maxBytes` under which new streams and topic events are admitted: the rest is kept
 * for the streams already running, so a flood of newcomers never fails a running stream.
 */
export const NEWCOMER_SHARE = 0.75;

/** The longest pause between two sweeps of expired streams, topics and chats. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };
const DONE_PROMISE = Promise.resolve(DONE);

interface MemoryStream {
  readonly info: StreamInfo;
  readonly events: EventLog;
  bytes: number;
  token: number;
  /** Followers that have read every event and wait for the next one. */
  waiters: MemoryFollower[];
  stopReason: string | undefined;
  readonly stopListeners: Set<(reason: string) => void>;
  attached: number;
  detachedAt: number | undefined;
  /** Epoch ms of the terminal event; 0 while running. */
  finishedAt: number;
  leaseTimer: ReturnType<typeof setTimeout> | undefined;
  /** The run's request, as JSON (kept like Redis keeps it; nothing in one process can take the run over). */
  readonly request: string | undefined;
}

interface MemoryTopic {
  /** Each kept event's JSON text ({@link encodeTopicEvent}: `{"event"?,"data"}`, without its id), oldest first. */
  readonly events: string[];
  /** The UTF-8 size of each kept event, in the order of `events`. */
  readonly sizes: number[];
  /** The sum of `sizes`. */
  bytes: number;
  /** The numeric id of `events[0]`. */
  first: number;
  /** The numeric id of the next event. */
  next: number;
  waiters: MemorySubscriber[];
  subscribers: number;
  lastActive: number;
  /**
   * The newest event as last parsed, while any reader still holds it: every subscriber that reads
   * it around the same time (woken by the publish, or a moment later) gets this one object, not a
   * parse of its own (a 64 KiB `[{},…]` parses to ~1.4 MB; hundreds at once would fill the heap).
   */
  newest: { readonly id: number; readonly ref: WeakRef<TopicEvent> } | undefined;
}

function checkMs(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be a number ≥ ${min}, got ${String(value)} (${typeof value}).`);
  }
  return value;
}

function newTopic(lastActive: number): MemoryTopic {
  return { events: [], sizes: [], bytes: 0, first: 1, next: 1, waiters: [], subscribers: 0, lastActive, newest: undefined };
}

/** The topic's event `id` (kept as `json`), the newest one shared through `topic.newest`. */
function topicEventOf(topic: MemoryTopic, id: number, json: string): TopicEvent {
  if (id !== topic.next - 1) return decodeTopicEvent(String(id), json);
  const cached = topic.newest?.id === id ? topic.newest.ref.deref() : undefined;
  if (cached !== undefined) return cached;
  const event = decodeTopicEvent(String(id), json);
  topic.newest = { id, ref: new WeakRef(event) };
  return event;
}

/** Reads one stream: replays from `after`, then waits on the stream's waiter list. */
class MemoryFollower implements AsyncIterableIterator<StoredEvent> {
  readonly #store: MemoryStore;
  readonly #id: string;
  readonly #signal: AbortSignal | undefined;
  #stream: MemoryStream | undefined;
  /** Index in `events` of the next event to hand out (= the id of the last one handed out). */
  #index: number;
  /** Where reading the log stands (the block a bare delta continues); set by the first read. */
  #cursor: LogCursor | undefined;
  #done = false;
  #resolve: ((result: IteratorResult<StoredEvent>) => void) | undefined;
  readonly #onAbort = (): void => this.#finish();

  constructor(store: MemoryStore, id: string, options: ReadOptions) {
    this.#store = store;
    this.#id = id;
    this.#index = options.after ?? 0;
    this.#signal = options.signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StoredEvent>> {
    if (this.#done) return DONE_PROMISE;
    let stream = this.#stream;
    if (stream === undefined) {
      if (this.#signal?.aborted) {
        this.#done = true;
        return DONE_PROMISE;
      }
      stream = this.#store.get(this.#id);
      if (stream === undefined) {
        this.#done = true;
        return Promise.reject(new StoreError('not_found', `No stream ${JSON.stringify(this.#id)}: it never existed or has expired.`));
      }
      if (this.#index > stream.events.length) {
        this.#done = true;
        return Promise.reject(aheadOfLog(this.#id, this.#index, stream.events.length));
      }
      this.#stream = stream;
      this.#cursor = stream.events.cursorAt(this.#index);
      this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (this.#resolve !== undefined) {
      return Promise.reject(new TypeError('next() was called before the previous call settled; iterate with for await.'));
    }
    const events = stream.events;
    if (this.#index < events.length) return Promise.resolve(this.#take(events.at(this.#index, this.#cursor as LogCursor)));
    if (stream.finishedAt !== 0) {
      this.#finish();
      return DONE_PROMISE;
    }
    return new Promise(this.#wait);
  }

  /** The executor of the promise a waiting `next()` returns: one function per follower, not one per event. */
  readonly #wait = (resolve: (result: IteratorResult<StoredEvent>) => void): void => {
    this.#resolve = resolve;
    (this.#stream as MemoryStream).waiters.push(this);
  };

  return(): Promise<IteratorResult<StoredEvent>> {
    this.#finish();
    return DONE_PROMISE;
  }

  /** Ends the read quietly (the store is closing). */
  end(): void {
    this.#finish();
  }

  /**
   * Called by an append while this follower waits: hands it the new event, the appended object
   * itself (a waiting follower has read every event before it; nothing is rebuilt from the log).
   */
  wake(event: AgentEvent): void {
    const resolve = this.#resolve;
    if (resolve === undefined || this.#stream === undefined) return;
    this.#resolve = undefined;
    // It waited, so it had read every event: this one is the next (the store wakes it as it appends).
    followEvent(this.#cursor as LogCursor, event);
    resolve(this.#take(event));
  }

  #take(event: AgentEvent): IteratorResult<StoredEvent> {
    const value: StoredEvent = { id: ++this.#index, event };
    // The terminal event is the last one: the next call ends without looking at the stream again.
    if (isTerminalEvent(event)) this.#release();
    return { value, done: false };
  }

  #release(): void {
    this.#done = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  #finish(): void {
    if (this.#done && this.#resolve === undefined) return;
    this.#release();
    const stream = this.#stream;
    if (stream !== undefined) {
      const at = stream.waiters.indexOf(this);
      if (at !== -1) stream.waiters.splice(at, 1);
    }
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(DONE);
  }
}

/** Reads one topic: the history after `after`, then live, until the signal aborts. */
class MemorySubscriber implements AsyncIterableIterator<TopicEvent> {
  readonly #store: MemoryStore;
  readonly #key: string;
  readonly #topic: MemoryTopic;
  readonly #signal: AbortSignal | undefined;
  /** The numeric id of the last event handed out. */
  #position: number;
  #done = false;
  #resolve: ((result: IteratorResult<TopicEvent>) => void) | undefined;
  readonly #onAbort = (): void => this.#finish();

  constructor(store: MemoryStore, key: string, topic: MemoryTopic, after: number, signal: AbortSignal | undefined) {
    this.#store = store;
    this.#key = key;
    this.#topic = topic;
    this.#position = after;
    this.#signal = signal;
    topic.subscribers++;
    if (signal?.aborted) this.#finish();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<TopicEvent>> {
    if (this.#done) return DONE_PROMISE;
    if (this.#resolve !== undefined) {
      return Promise.reject(new TypeError('next() was called before the previous call settled; iterate with for await.'));
    }
    const result = this.#take();
    if (result !== undefined) return Promise.resolve(result);
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#topic.waiters.push(this);
    });
  }

  return(): Promise<IteratorResult<TopicEvent>> {
    this.#finish();
    return DONE_PROMISE;
  }

  /** Ends the subscription quietly (the store is closing). */
  end(): void {
    this.#finish();
  }

  /**
   * Called by a publish while this subscriber waits, with the new event parsed once for every
   * subscriber it wakes. A waiting subscriber has read every kept event, so the new one is its next.
   */
  wake(event: TopicEvent): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    this.#position = Number(event.id);
    resolve({ value: event, done: false });
  }

  #take(): IteratorResult<TopicEvent> | undefined {
    const topic = this.#topic;
    // A subscriber that fell behind the history skips to its oldest kept event.
    const index = Math.max(0, this.#position + 1 - topic.first);
    const json = topic.events[index];
    if (json === undefined) return undefined;
    this.#position = topic.first + index;
    return { value: topicEventOf(topic, this.#position, json), done: false };
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const at = this.#topic.waiters.indexOf(this);
    if (at !== -1) this.#topic.waiters.splice(at, 1);
    if (--this.#topic.subscribers === 0) this.#store.topicLeft(this.#key, this.#topic);
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(DONE);
  }
}

/** The producer's handle on a memory stream. */
class MemoryWriter implements StreamWriter {
  readonly id: string;
  readonly token: number;
  readonly #store: MemoryStore;
  readonly #stream: MemoryStream;
  readonly #listeners = new Set<(reason: string) => void>();

  constructor(store: MemoryStore, stream: MemoryStream) {
    this.#store = store;
    this.#stream = stream;
    this.id = stream.info.id;
    this.token = stream.token;
  }

  append(event: AgentEvent): Promise<number> {
    try {
      return Promise.resolve(this.#store.append(this.#stream, this.token, event));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  appendNow(event: AgentEvent): number {
    return this.#store.append(this.#stream, this.token, event);
  }

  onStop(listener: (reason: string) => void): () => void {
    let called = false;
    const once = (reason: string): void => {
      if (called) return;
      called = true;
      this.#stream.stopListeners.delete(once);
      this.#listeners.delete(once);
      listener(reason);
    };
    const stopReason = this.#stream.stopReason;
    if (stopReason !== undefined) {
      // Requested before this listener was added: tell it on the next tick, as Redis would.
      queueMicrotask(() => once(stopReason));
    } else {
      this.#stream.stopListeners.add(once);
      this.#listeners.add(once);
    }
    return () => {
      called = true;
      this.#stream.stopListeners.delete(once);
      this.#listeners.delete(once);
    };
  }

  close(): Promise<void> {
    for (const listener of this.#listeners) this.#stream.stopListeners.delete(listener);
    this.#listeners.clear();
    this.#store.releaseLease(this.#stream, this.token);
    return Promise.resolve();
  }
}

/** The memory store. Use {@link createMemoryStore}. */
class MemoryStore implements StreamStore {
  readonly kind = 'memory';
  readonly #streams = new Map<string, MemoryStream>();
  /** Finished streams in the order they finished (Map keeps insertion order): expiry and eviction go oldest first. */
  readonly #finished = new Map<string, MemoryStream>();
  readonly #topics = new Map<string, MemoryTopic>();
  /**
   * The topics with events and no subscriber, in the order they were last active (Map keeps
   * insertion order; a touched topic is put last): they expire oldest first, and the sweep stops
   * at the first that has not, so it never walks the topics that live on.
   */
  readonly #idleTopics = new Map<string, MemoryTopic>();
  readonly #chats = new Map<string, { streamId: string; at: number; bytes: number }>();
  readonly #approvals = new MemoryApprovals();
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #maxBytes: number;
  readonly #topicHistory: number;
  readonly #maxTopicBytes: number;
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  #bytes = 0;
  #closed = false;

  constructor(options: MemoryStoreOptions) {
    this.#ttlMs = checkMs('ttlMs', options.ttlMs, DEFAULTS.ttlMs);
    this.#leaseMs = checkMs('leaseMs', options.leaseMs, DEFAULTS.leaseMs);
    this.#maxBytes = checkMs('maxBytes', options.maxBytes, DEFAULTS.maxBytes);
    this.#topicHistory = checkMs('topicHistory', options.topicHistory, DEFAULTS.topicHistory);
    this.#maxTopicBytes = checkMs('maxTopicBytes', options.maxTopicBytes, DEFAULTS.maxTopicBytes);
    // heartbeatMs and attachTtlMs only matter across processes; validated for the same options object.
    checkMs('heartbeatMs', options.heartbeatMs, 1);
    checkMs('attachTtlMs', options.attachTtlMs, 1);
    const interval = Math.min(this.#ttlMs, MAX_SWEEP_INTERVAL_MS);
    this.#sweepTimer = setInterval(() => this.#sweep(Date.now()), interval);
    // Deno and browsers return a number here; Node and Bun a Timeout that must not keep the process alive.
    (this.#sweepTimer as { unref?: () => void }).unref?.();
  }

  /** The UTF-8 bytes of stored streams (events, requests, meta), chat ids and topic histories now (for tests and metrics). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The number of topic records kept now (for tests; not part of {@link createMemoryStore}'s type). */
  get topicCount(): number {
    return this.#topics.size;
  }

  create(options: CreateStreamOptions): Promise<StreamWriter> {
    const now = Date.now();
    this.#sweep(now);
    if (this.#streams.has(options.id)) {
      return Promise.reject(new StoreError('exists', `A stream with id ${JSON.stringify(options.id)} exists already.`));
    }
    // The stream's own record counts too: its request (kept for the TTL, a message may be large) and meta.
    const request = options.request === undefined ? undefined : JSON.stringify(options.request);
    const recordBytes = (request === undefined ? 0 : utf8Length(request)) + (options.meta === undefined ? 0 : utf8Length(JSON.stringify(options.meta)));
    if (!this.#makeRoom(Math.max(1, recordBytes), this.#admitBytes)) return Promise.reject(this.#fullError(Math.max(1, recordBytes)));
    const stream: MemoryStream = {
      info: {
        id: options.id,
        kind: options.kind ?? 'chat',
        state: 'running',
        lastId: 0,
        createdAt: now,
        meta: { ...options.meta },
        ...(options.owner === undefined ? {} : { owner: options.owner }),
        token: 1,
        takeovers: 0,
      },
      events: new EventLog(),
      bytes: recordBytes,
      token: 1,
      waiters: [],
      stopReason: undefined,
      stopListeners: new Set(),
      attached: 0,
      detachedAt: undefined,
      finishedAt: 0,
      leaseTimer: undefined,
      request,
    };
    this.#bytes += recordBytes;
    this.#streams.set(options.id, stream);
    return Promise.resolve(new MemoryWriter(this, stream));
  }

  /** The live stream record, or undefined when unknown or expired. */
  get(id: string): MemoryStream | undefined {
    const stream = this.#streams.get(id);
    if (stream === undefined) return undefined;
    if (stream.finishedAt !== 0 && stream.finishedAt + this.#ttlMs <= Date.now()) {
      this.#remove(stream);
      return undefined;
    }
    return stream;
  }

  /** Appends for the writer holding `token`; returns the event's id. */
  append(stream: MemoryStream, token: number, event: AgentEvent): number {
    if (stream.token !== token) {
      throw new StoreError('fenced', `The writer of stream ${stream.info.id} lost its lease; the stream was ended by another party.`);
    }
    if (stream.finishedAt !== 0) {
      throw new StoreError('ended', `Stream ${stream.info.id} has ended; nothing can be appended after its terminal event.`);
    }
    const terminal = isTerminalEvent(event);
    const plain = isPlainDelta(event);
    // An event the log keeps as its JSON text is counted by that text, built once (see the module's note).
    const packed = packedJson(event, plain);
    const size = packed === undefined ? eventJsonBytes(event, plain) : utf8Length(packed);
    if (!terminal && !this.#makeRoom(size, this.#maxBytes)) throw this.#fullError(size);
    stream.events.push(event, plain, packed);
    const id = stream.events.length;
    stream.info.lastId = id;
    stream.bytes += size;
    this.#bytes += size;
    if (terminal) this.#end(stream);
    else if (stream.leaseTimer !== undefined) {
      // A closed writer that still appends is alive after all: its lease runs from now, as a Redis append renews it.
      clearTimeout(stream.leaseTimer);
      stream.leaseTimer = undefined;
      this.releaseLease(stream, token);
    }
    const waiters = stream.waiters;
    // One follower (a chat's own response) is the common case: taken off the list in place, no new
    // list per event. A woken follower never waits again before this returns (its next() runs later).
    if (waiters.length === 1) (waiters.pop() as MemoryFollower).wake(event);
    else if (waiters.length > 1) {
      stream.waiters = [];
      for (const follower of waiters) follower.wake(event);
    }
    return id;
  }

  /** The writer went away without ending: after the lease time the stream ends with `producer_lost`. */
  releaseLease(stream: MemoryStream, token: number): void {
    if (stream.finishedAt !== 0 || stream.token !== token || stream.leaseTimer !== undefined) return;
    stream.leaseTimer = setTimeout(() => {
      stream.leaseTimer = undefined;
      if (stream.finishedAt !== 0 || stream.token !== token || this.#streams.get(stream.info.id) !== stream) return;
      stream.token++;
      stream.info.token = stream.token;
      this.append(stream, stream.token, producerLostEvent());
    }, this.#leaseMs);
    (stream.leaseTimer as { unref?: () => void }).unref?.();
  }

  info(id: string): Promise<StreamInfo | undefined> {
    const stream = this.get(id);
    return Promise.resolve(stream === undefined ? undefined : { ...stream.info, meta: { ...stream.info.meta } });
  }

  read(id: string, options: ReadOptions = {}): AsyncIterable<StoredEvent> {
    const after = options.after ?? 0;
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new RangeError(`Expected \`after\` to be an event id (an integer ≥ 0), got ${String(after)} (${typeof after}).`);
    }
    return new MemoryFollower(this, id, options);
  }

  /**
   * Registers the instance as one that takes runs over: accepted for a uniform interface, never
   * called, since the producers of a memory store live and die with its process (and its followers).
   */
  onTakeover(): () => void {
    return () => {};
  }

  requestStop(id: string, reason: string): Promise<boolean> {
    const stream = this.get(id);
    if (stream === undefined || stream.finishedAt !== 0) return Promise.resolve(false);
    if (stream.stopReason === undefined) {
      stream.stopReason = reason;
      for (const listener of [...stream.stopListeners]) listener(reason);
    }
    return Promise.resolve(true);
  }

  attach(id: string): () => void {
    const stream = this.get(id);
    if (stream === undefined) return () => {};
    stream.attached++;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (--stream.attached === 0) stream.detachedAt = Date.now();
    };
  }

  detachedSince(id: string): Promise<number | undefined> {
    const stream = this.get(id);
    if (stream === undefined || stream.attached > 0) return Promise.resolve(undefined);
    return Promise.resolve(stream.detachedAt ?? stream.info.createdAt);
  }

  setChatStream(chatId: string, streamId: string | undefined, owner?: string): Promise<void> {
    const key = chatKey(chatId, owner);
    // Delete first so the Map's order stays the order of setting (the sweep stops at the first fresh one).
    this.#dropChat(key);
    if (streamId !== undefined) {
      // A chat id is the client's: its bytes count against the bound like the streams it points at.
      const bytes = utf8Length(key) + streamId.length;
      if (!this.#makeRoom(bytes, this.#admitBytes)) return Promise.reject(this.#fullError(bytes));
      this.#chats.set(key, { streamId, at: Date.now(), bytes });
      this.#bytes += bytes;
    }
    return Promise.resolve();
  }

  #dropChat(key: string): void {
    const entry = this.#chats.get(key);
    if (entry === undefined) return;
    this.#chats.delete(key);
    this.#bytes -= entry.bytes;
  }

  getChatStream(chatId: string, owner?: string): Promise<string | undefined> {
    const key = chatKey(chatId, owner);
    const entry = this.#chats.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.at + this.#ttlMs <= Date.now() || this.get(entry.streamId) === undefined) {
      this.#dropChat(key);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry.streamId);
  }

  publish(topic: string, event: Omit<TopicEvent, 'id'>, options: PublishOptions = {}): Promise<string> {
    const key = topicKey(topic, options.owner);
    // Kept as this text, not as the parsed data (see the module's note); parsed again when read (the newest once for all its readers).
    const json = encodeTopicEvent(event);
    const size = utf8Length(json);
    if (size > this.#maxTopicBytes) {
      return Promise.reject(
        new StoreError('full', `The event is ${size} bytes; a topic's history keeps at most ${this.#maxTopicBytes} (maxTopicBytes).`),
      );
    }
    // A newcomer: admitted under the newcomers' share of the bound only (finished streams are evicted for it).
    if (!this.#makeRoom(size, this.#admitBytes)) return Promise.reject(this.#fullError(size));
    let record = this.#topics.get(key);
    if (record === undefined) {
      record = newTopic(0);
      this.#topics.set(key, record);
    }
    const id = String(record.next++);
    record.events.push(json);
    record.sizes.push(size);
    record.bytes += size;
    this.#bytes += size;
    record.lastActive = Date.now();
    if (record.subscribers === 0) {
      // Last in the order of activity.
      this.#idleTopics.delete(key);
      this.#idleTopics.set(key, record);
    }
    while (record.events.length > this.#topicHistory || record.bytes > this.#maxTopicBytes) {
      record.events.shift();
      const dropped = record.sizes.shift() ?? 0;
      record.bytes -= dropped;
      this.#bytes -= dropped;
      record.first++;
    }
    const waiters = record.waiters;
    if (waiters.length > 0) {
      record.waiters = [];
      // Parsed once for every subscriber woken now, and those that read it a moment later (see `newest`).
      const shared = topicEventOf(record, record.next - 1, json);
      for (const subscriber of waiters) subscriber.wake(shared);
    }
    return Promise.resolve(id);
  }

  subscribe(topic: string, options: { after?: string; signal?: AbortSignal; owner?: string | undefined } = {}): AsyncIterable<TopicEvent> {
    const key = topicKey(topic, options.owner);
    let record = this.#topics.get(key);
    if (record === undefined) {
      // Deleted again when its last subscriber leaves, unless something was published on it.
      record = newTopic(Date.now());
      this.#topics.set(key, record);
    }
    // A subscribed topic does not expire: out of the sweep's order until its last subscriber leaves.
    this.#idleTopics.delete(key);
    // Without `after` (or with one that is not an id of ours) the subscriber starts live.
    const after = options.after !== undefined && /^\d{1,15}$/.test(options.after) ? Number(options.after) : record.next - 1;
    return new MemorySubscriber(this, key, record, Math.min(after, record.next - 1), options.signal);
  }

  /**
   * The last subscriber of a topic left: a topic nothing was published on is deleted at once (so
   * subscribing to names nobody uses leaves nothing behind); one with a history expires
   * `ttlMs` from now, last in the sweep's order.
   */
  topicLeft(key: string, record: MemoryTopic): void {
    if (this.#topics.get(key) !== record) return;
    if (record.events.length === 0) {
      this.#topics.delete(key);
      this.#bytes -= record.bytes;
      return;
    }
    record.lastActive = Date.now();
    this.#idleTopics.delete(key);
    this.#idleTopics.set(key, record);
  }

  openApproval(streamId: string, approvalId: string): Promise<void> {
    if (this.get(streamId) === undefined) return Promise.reject(new StoreError('not_found', `No stream ${JSON.stringify(streamId)}.`));
    this.#approvals.open(streamId, approvalId);
    return Promise.resolve();
  }

  answerApproval(streamId: string, approvalId: string, answer: ApprovalAnswer): Promise<AnswerApprovalResult> {
    if (this.get(streamId) === undefined) return Promise.resolve('not_found');
    return Promise.resolve(this.#approvals.answer(streamId, approvalId, answer));
  }

  waitApproval(streamId: string, approvalId: string, options: { signal?: AbortSignal } = {}): Promise<ApprovalAnswer> {
    return this.#approvals.wait(streamId, approvalId, options.signal);
  }

  ready(): Promise<boolean> {
    return Promise.resolve(!this.#closed);
  }

  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    for (const stream of this.#streams.values()) {
      if (stream.leaseTimer !== undefined) clearTimeout(stream.leaseTimer);
      stream.leaseTimer = undefined;
      for (const follower of stream.waiters.splice(0)) follower.end();
    }
    for (const topic of this.#topics.values()) for (const subscriber of topic.waiters.splice(0)) subscriber.end();
    return Promise.resolve();
  }

  #end(stream: MemoryStream): void {
    stream.info.state = 'done';
    stream.finishedAt = Date.now();
    stream.stopListeners.clear();
    if (stream.leaseTimer !== undefined) clearTimeout(stream.leaseTimer);
    stream.leaseTimer = undefined;
    this.#finished.set(stream.info.id, stream);
  }

  #remove(stream: MemoryStream): void {
    this.#approvals.forget(stream.info.id);
    this.#streams.delete(stream.info.id);
    this.#finished.delete(stream.info.id);
    this.#bytes -= stream.bytes;
  }

  /** The bound newcomers (new streams, topic events) are admitted under. */
  get #admitBytes(): number {
    return Math.floor(this.#maxBytes * NEWCOMER_SHARE);
  }

  /** Evicts finished streams, oldest finished first, until `size` more bytes fit under `bound`; false when they cannot. */
  #makeRoom(size: number, bound: number): boolean {
    if (this.#bytes + size <= bound) return true;
    for (const stream of this.#finished.values()) {
      this.#remove(stream);
      if (this.#bytes + size <= bound) return true;
    }
    return this.#bytes + size <= bound;
  }

  #fullError(size: number): StoreError {
    return new StoreError(
      'full',
      `The memory store holds ${this.#bytes} bytes of running streams and topic histories, and ${size} more do not fit in its bound of ${this.#maxBytes} (maxBytes; newcomers get ${Math.round(NEWCOMER_SHARE * 100)} % of it); retry when streams finish, or raise maxBytes.`,
    );
  }

  #sweep(now: number): void {
    for (const stream of this.#finished.values()) {
      if (stream.finishedAt + this.#ttlMs > now) break;
      this.#remove(stream);
    }
    for (const [key, entry] of this.#chats) {
      if (entry.at + this.#ttlMs > now) break;
      this.#dropChat(key);
    }
    for (const [key, topic] of this.#idleTopics) {
      if (topic.lastActive + this.#ttlMs > now) break;
      this.#idleTopics.delete(key);
      this.#topics.delete(key);
      this.#bytes -= topic.bytes;
    }
  }
}

function chatKey(chatId: string, owner: string | undefined): string {
  return `${owner ?? ''}\u0000${chatId}`;
}

/** Topics of different owners never share a record, whatever their names. */
function topicKey(topic: string, owner: string | undefined): string {
  return `${owner ?? ''}\u0000${topic}`;
}

/**
 * Creates the memory stream store: one process, bounded in bytes ({@link MemoryStoreOptions.maxBytes})
 * and time ({@link StoreOptions.ttlMs}). A writer's lease lasts while its handle is open; after
 * `close()` without a terminal event the stream ends with `producer_lost` once `leaseMs` has passed.
 *
 * @param options - bounds and times
 * @returns a {@link StreamStore}
 * @example
 * ```ts
 * const store = createMemoryStore();
 * const writer = await store.create({ id: crypto.randomUUID() });
 * await writer.append({ type: 'text-delta', id: 't', delta: 'Hi' });
 * await writer.append({ type: 'finish', finishReason: 'stop' });
 * for await (const { id, event } of store.read(writer.id)) console.log(id, event.type);
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): StreamStore & { readonly bytes: number } {
  return new MemoryStore(options);
}
