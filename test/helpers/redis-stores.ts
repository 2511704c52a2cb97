/**
 * Redis stores on a private redis-server or cluster for the store tests: each with a fresh key
 * prefix (or the given one) and connected before it is handed out, all closed together; and the
 * store contract (test/store-contract.ts) run on two of them sharing a prefix.
 */
import { randomUUID } from 'node:crypto';
import { expect, vi } from 'vitest';
import { createRedisStore, type RedisStoreOptions } from '../../src/store/redis.ts';
import type { StreamStore } from '../../src/store/types.ts';
import { describeStoreContract } from '../store-contract.ts';

/** How long a store may take to connect. */
export const WAIT = { timeout: 10_000, interval: 20 };

/** The stores of one test file on one Redis. */
export interface RedisStores {
  /** A store on the Redis with a fresh key prefix (or the given one), once it is connected; closed by {@link RedisStores.closeAll}. */
  open(options?: RedisStoreOptions): Promise<StreamStore>;
  /** Has a store made otherwise closed with the others. */
  track(...stores: StreamStore[]): void;
  closeAll(): Promise<void>;
  /** Declares the store contract on two stores of this Redis sharing a key prefix. */
  describeContract(name: string): void;
}

/**
 * The stores of a test file.
 * @param url - the Redis's URL (`redis://…` or `redis+cluster://…`), once `beforeAll` started it
 */
export function redisStores(url: () => string): RedisStores {
  const stores: StreamStore[] = [];
  const open = async (options: RedisStoreOptions = {}): Promise<StreamStore> => {
    const store = createRedisStore({ keyPrefix: `test:${randomUUID()}:`, ...options, url: url() });
    stores.push(store);
    await vi.waitFor(async () => expect(await store.ready()).toBe(true), WAIT);
    return store;
  };
  return {
    open,
    track: (...more) => void stores.push(...more),
    closeAll: async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
    },
    describeContract(name) {
      describeStoreContract(name, async (options) => {
        const keyPrefix = `test:${randomUUID()}:`;
        const store = await open({ ...options, keyPrefix });
        const other = await open({ ...options, keyPrefix });
        return {
          store,
          other,
          close: async () => {
            await Promise.all([store.close(), other.close()]);
          },
        };
      });
    },
  };
}
