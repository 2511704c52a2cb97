/**
 * Leases of the concurrency limits counted in this process (no Redis, or while it is unreachable).
 *
 * @module
 */
import type { LeaseSet } from '../../store/types.ts';

/**
 * Creates leases counted in this process: a map of holders and their expiries per key.
 * @returns the lease set
 */
export function createMemoryLeaseSet(): LeaseSet {
  const sets = new Map<string, Map<string, number>>();
  return {
    acquire(key, holder, limit, ttlMs) {
      const now = Date.now();
      let set = sets.get(key);
      if (set === undefined) sets.set(key, (set = new Map()));
      for (const [name, expires] of set) if (expires <= now) set.delete(name);
      if (!set.has(holder) && set.size >= limit) return Promise.resolve(false);
      set.set(holder, now + ttlMs);
      return Promise.resolve(true);
    },
    renew(held, ttlMs) {
      const expires = Date.now() + ttlMs;
      for (const [key, holder] of held) {
        const set = sets.get(key);
        if (set?.has(holder)) set.set(holder, expires);
      }
      return Promise.resolve();
    },
    release(key, holder) {
      const set = sets.get(key);
      set?.delete(holder);
      if (set?.size === 0) sets.delete(key);
      return Promise.resolve();
    },
  };
}
