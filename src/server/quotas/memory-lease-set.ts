/**
 * Leases of the concurrency limits counted in this process (no Redis, or while it is unreachable).
 *
 * A key (a limit and a subject: `topics:ip:203.0.113.7`) is dropped as soon as it holds no lease,
 * whether its leases were released or only lapsed: each call looks at a few keys besides its own,
 * in turn, and so does a timer while any key is held (bounded work each time), so the keys of
 * clients that came once and left go away within a pass once their leases lapse, and idle ones
 * cost nothing. Without it, every client address that ever published kept its key for the
 * process's life.
 *
 * @module
 */
import type { LeaseSet } from '../../store/types.ts';

/** How many other keys each `acquire` looks at: more than it can add, so the sweep keeps up with new keys. */
const SWEEP_KEYS_PER_CALL = 2;
/** How many keys the timer looks at each tick. */
const SWEEP_KEYS_PER_TICK = 1000;
/** The pause between two ticks of the timer (armed only while a key is held). */
const SWEEP_INTERVAL_MS = 250;

/** The memory lease set, with the count of its keys (for tests and metrics). */
export interface MemoryLeaseSet extends LeaseSet {
  /** The keys holding at least one lease not yet found lapsed. */
  readonly size: number;
}

/**
 * Creates leases counted in this process: a map of holders and their expiries per key.
 * @returns the lease set
 */
export function createMemoryLeaseSet(): MemoryLeaseSet {
  const sets = new Map<string, Map<string, number>>();
  /** Where the sweep stands in `sets` (a Map's iterator goes on past deletions and sees keys added later). */
  let cursor: MapIterator<[string, Map<string, number>]> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** Drops the lapsed leases of `key`, and the key when none is left. */
  const prune = (key: string, set: Map<string, number>, now: number): void => {
    for (const [holder, expires] of set) if (expires <= now) set.delete(holder);
    if (set.size === 0 && sets.get(key) === set) sets.delete(key);
  };

  /**
   * Looks at the next `count` keys in turn: all of them, then again from the first; with
   * `onePass`, it stops at the end of the keys (the timer: with fewer keys than its count, it would
   * otherwise look at the same ones again and again in one tick).
   */
  const sweep = (count: number, now: number, onePass = false): void => {
    for (let n = 0; n < count && sets.size > 0; n++) {
      cursor ??= sets.entries();
      const next = cursor.next();
      if (next.done === true) {
        cursor = undefined;
        if (onePass) break;
      } else prune(next.value[0], next.value[1], now);
    }
    if (sets.size === 0) cursor = undefined;
  };

  const tick = (): void => {
    timer = undefined;
    sweep(SWEEP_KEYS_PER_TICK, Date.now(), true);
    schedule();
  };

  /** Arms the timer while a key is held, and stops it when none is. */
  const schedule = (): void => {
    if (sets.size > 0 && timer === undefined) {
      timer = setTimeout(tick, SWEEP_INTERVAL_MS);
      // Never keeps a process alive on its own.
      (timer as { unref?: () => void }).unref?.();
    } else if (sets.size === 0 && timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
  };

  return {
    get size() {
      return sets.size;
    },
    acquire(key, holder, limit, ttlMs) {
      const now = Date.now();
      sweep(SWEEP_KEYS_PER_CALL, now);
      let set = sets.get(key);
      if (set !== undefined) prune(key, set, now);
      if (!(set?.has(holder) ?? false) && (set?.size ?? 0) >= limit) {
        schedule();
        return Promise.resolve(false);
      }
      set = sets.get(key);
      if (set === undefined) sets.set(key, (set = new Map()));
      set.set(holder, now + ttlMs);
      schedule();
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
      schedule();
      return Promise.resolve();
    },
  };
}
