/**
 * Chats and topics of the Redis store. A chat's key holds the id of its running stream. A topic is
 * a Redis stream of its own (ids `ms-seq`), capped by the PUBLISH script at `topicHistory` entries
 * and `maxTopicBytes` bytes (a byte counter beside it); subscribers read it like an agent stream's
 * log, through a RedisFollower and the shared reader (redis-reader.ts).
 *
 * @module
 */
import { utf8Length } from '../core/utf8-length.ts';
import { StoreError } from './errors.ts';
import { SCRIPTS, type RedisConnection } from './redis-connection.ts';
import { RedisFollower, type FollowerBackend } from './redis-follower.ts';
import type { RedisKeys } from './redis-keys.ts';
import { parseId, parseTopicEntry, type RawEntry, type RedisReader } from './redis-reader.ts';
import { encodeTopicEvent } from './topic-event.ts';
import type { PublishOptions, TopicEvent } from './types.ts';

/** The chats and topics of one store instance (see the module's documentation). */
export class RedisTopics {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #reader: RedisReader;
  readonly #ttl: string;
  readonly #ttlMs: number;
  readonly #topicHistory: string;
  readonly #maxTopicBytes: number;

  constructor(conn: RedisConnection, keys: RedisKeys, reader: RedisReader, options: { ttlMs: number; topicHistory: string; maxTopicBytes: number }) {
    this.#conn = conn;
    this.#keys = keys;
    this.#reader = reader;
    this.#ttlMs = options.ttlMs;
    this.#ttl = String(options.ttlMs);
    this.#topicHistory = options.topicHistory;
    this.#maxTopicBytes = options.maxTopicBytes;
  }

  async setChatStream(chatId: string, streamId: string | undefined, owner?: string): Promise<void> {
    const key = this.#keys.chat(chatId, owner);
    if (streamId === undefined) await this.#conn.command(() => this.#conn.cmd.del(key));
    else await this.#conn.command(() => this.#conn.cmd.set(key, streamId, { expiration: { type: 'PX', value: this.#ttlMs } }));
  }

  async getChatStream(chatId: string, owner?: string): Promise<string | undefined> {
    const streamId = await this.#conn.command(() => this.#conn.cmd.get(this.#keys.chat(chatId, owner)));
    if (streamId === null) return undefined;
    const exists = await this.#conn.command(() => this.#conn.cmd.exists(this.#keys.stream(streamId).state));
    return exists === 1 ? streamId : undefined;
  }

  async publish(topic: string, event: Omit<TopicEvent, 'id'>, options: PublishOptions = {}): Promise<string> {
    const json = encodeTopicEvent(event);
    const size = utf8Length(json);
    if (size > this.#maxTopicBytes) throw new StoreError('full', `The event is ${size} bytes; a topic's history keeps at most ${this.#maxTopicBytes} (maxTopicBytes).`);
    const key = this.#keys.topic(topic, options.owner);
    const id = (await this.#conn.run(SCRIPTS.publish, [key, `${key}~bytes`], [this.#topicHistory, json, this.#ttl, String(size), String(this.#maxTopicBytes)])) as string;
    this.#reader.notify(key);
    return id;
  }

  subscribe(topic: string, options: { after?: string; signal?: AbortSignal; owner?: string | undefined } = {}): AsyncIterable<TopicEvent> {
    const key = this.#keys.topic(topic, options.owner);
    const after = options.after;
    const backend: FollowerBackend<TopicEvent> = {
      consecutive: false,
      start: async (follower) => {
        this.#reader.track(follower);
        const last = (await this.#conn.command(() => this.#conn.cmd.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', '1']))) as RawEntry[];
        const [lastMs, lastSeq] = last[0] === undefined ? [0, 0] : parseId(last[0][0]);
        if (after !== undefined && /^\d{1,15}(-\d{1,15})?$/.test(after)) {
          const [ms, seq] = parseId(after);
          // An id past the end (another topic's, a stale one) follows from the end.
          if (ms < lastMs || (ms === lastMs && seq < lastSeq)) return { ms, seq, done: false };
        }
        // Without an id of ours: from the end.
        return { ms: lastMs, seq: lastSeq, done: false };
      },
      range: (ms, seq, count) => this.#reader.range(key, ms, seq, count, parseTopicEntry),
      isEnd: () => false,
      follow: (follower, ms, seq) => this.#reader.follow(key, 'topic', topic, follower, ms, seq),
      unfollow: (follower) => this.#reader.unfollow(key, follower),
      release: (follower) => this.#reader.release(follower),
      toError: this.#conn.toStoreError,
    };
    return new RedisFollower(backend, options.signal);
  }
}
