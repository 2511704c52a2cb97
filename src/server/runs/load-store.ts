/**
 * The app's default stream store: Redis when `REDIS_URL` is set (imported only then, so the
 * memory path never loads the Redis client), else memory.
 *
 * @module
 */
import type { StreamStore } from '../../store/types.ts';

/**
 * Loads the default store.
 * @param redisUrl - `REDIS_URL`, or undefined for the memory store
 * @returns the store; a Redis store that cannot connect yet still loads, and `ready()` says so
 */
export async function loadStore(redisUrl: string | undefined): Promise<StreamStore> {
  if (redisUrl !== undefined && redisUrl !== '') {
    const { createRedisStore } = await import('../../store/redis.ts');
    return createRedisStore({ url: redisUrl });
  }
  const { createMemoryStore } = await import('../../store/memory.ts');
  return createMemoryStore();
}

/** A Redis URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    // A cluster's nodes (redis+cluster://user:password@host:port,host:port) are no URL WHATWG parses.
    if (/^rediss?\+cluster:\/\/[^/?#]*$/.test(url)) return url.replace(/\/\/([^@:/]*):[^@/]*@/, '//$1:***@');
    // Not a URL we can parse: say nothing of what it holds.
    return '(an unparsable REDIS_URL)';
  }
}
