/**
 * The names of the Redis store's keys, all under its key prefix. A stream's keys share the hash
 * tag `{<id>}` (one cluster slot, so one script can use them all; their contents are described in
 * redis-scripts.ts); a topic's have a tag of their own on a cluster.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** The keys of one agent stream. */
export interface StreamKeys {
  log: string;
  state: string;
  lease: string;
  followers: string;
  stop: string;
  /** The run's request (a run that can be taken over). */
  request: string;
}

/** The key names of one store (its key prefix; on a Redis Cluster, hash tags of their own for topics). */
export class RedisKeys {
  readonly #prefix: string;
  readonly #cluster: boolean;
  /** The set of runs that can be taken over (scanned for lost producers nobody follows). */
  readonly runs: string;
  /** The prefix of the quotas' counters. */
  readonly quota: string;

  constructor(prefix: string, cluster: boolean) {
    this.#prefix = prefix;
    this.#cluster = cluster;
    this.runs = `${prefix}takeover-runs`;
    this.quota = `${prefix}quota:`;
  }

  /** The wake stream of one instance's shared reader (see RedisReader#wake). */
  wake(instance: string): string {
    return `${this.#prefix}wake:${instance}`;
  }

  stream(id: string): StreamKeys {
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

  approval(keys: StreamKeys, approvalId: string): string {
    return `${keys.state.slice(0, -':state'.length)}:approval:${approvalId}`;
  }

  chat(chatId: string, owner: string | undefined): string {
    return `${this.#prefix}chat:${encodeURIComponent(owner ?? '')}:${chatId}`;
  }

  /**
   * An owned topic's key has `~` (never in a topic name) before its owner: no name reaches another
   * owner's. Its byte counter is the key and `~bytes`, which no topic's key can be either.
   */
  topic(topic: string, owner: string | undefined): string {
    const key = owner === undefined ? `topic:${topic}` : `topic:~${encodeURIComponent(owner)}:${topic}`;
    if (!this.#cluster) return `${this.#prefix}${key}`;
    // On a cluster a hash tag of its own first (a topic name may hold braces), so the topic and its byte counter share a slot.
    return `${this.#prefix}{${createHash('sha1').update(key).digest('hex').slice(0, 16)}}${key}`;
  }
}
