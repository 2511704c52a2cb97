/**
 * The quotas' memory lease set drops a key (a limit and a subject) once it holds no lease, whether
 * its leases were released or only lapsed: a client address that published once does not stay
 * for the process's life.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLeaseSet } from '../src/server/quotas/memory-lease-set.ts';
import { createQuotas, TOPIC_LEASE_MS } from '../src/server/quotas/quotas.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the memory lease set', () => {
  it('drops every key whose leases only lapsed, without a further call (200,000 subjects that came once)', async () => {
    const leases = createMemoryLeaseSet();
    for (let n = 0; n < 200_000; n++) expect(await leases.acquire(`topics:ip:10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`, '/t', 100, 60_000)).toBe(true);
    expect(leases.size).toBe(200_000);
    await vi.advanceTimersByTimeAsync(59_000);
    // Not lapsed yet: nothing is dropped.
    expect(leases.size).toBe(200_000);
    // Lapsed: the timer goes through every key in bounded steps (1,000 every 250 ms), 50 s for all.
    await vi.advanceTimersByTimeAsync(1000 + 40_000);
    expect(leases.size).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(leases.size).toBe(0);
    // Nothing left to look at: the timer is off.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops lapsed keys as new ones are acquired, faster than they come', async () => {
    const leases = createMemoryLeaseSet();
    for (let n = 0; n < 100; n++) await leases.acquire(`old-${n}`, 'h', 1, 1000);
    // Lapsed, and the timer has not run.
    vi.setSystemTime(Date.now() + 2000);
    // Each acquire adds one key and looks at two: within about as many calls as there are keys,
    // every lapsed one was looked at.
    for (let n = 0; n < 120; n++) await leases.acquire(`new-${n}`, 'h', 1, 60_000);
    expect(leases.size).toBe(120);
  });

  it('keeps keys with a live lease, renewed ones included, and still counts their holders against the limit', async () => {
    const leases = createMemoryLeaseSet();
    expect(await leases.acquire('streams:key:a', 'h1', 1, 30_000)).toBe(true);
    expect(await leases.acquire('streams:key:a', 'h2', 1, 30_000)).toBe(false);
    expect(await leases.acquire('streams:key:b', 'h1', 1, 30_000)).toBe(true);
    await vi.advanceTimersByTimeAsync(20_000);
    await leases.renew([['streams:key:a', 'h1']], 30_000);
    await vi.advanceTimersByTimeAsync(20_000);
    // b lapsed and is gone; a was renewed and holds h1 still.
    expect(leases.size).toBe(1);
    expect(await leases.acquire('streams:key:a', 'h2', 1, 30_000)).toBe(false);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(await leases.acquire('streams:key:a', 'h2', 1, 30_000)).toBe(true);
  });

  it('looks at each key once per timer tick when there are fewer keys than a tick looks at', async () => {
    const leases = createMemoryLeaseSet();
    expect(await leases.acquire('streams:key:a', 'h1', 1, 60_000)).toBe(true);
    // One pass over one key per tick makes one iterator of the keys; going round again and again
    // up to the tick's 1,000 made one every other step.
    const entries = vi.spyOn(Map.prototype, 'entries');
    await vi.advanceTimersByTimeAsync(250 * 4);
    expect(entries.mock.calls.length).toBeLessThanOrEqual(4);
    entries.mockRestore();
    expect(leases.size).toBe(1);
  });

  it('leaves no key for a refused acquire or a released lease', async () => {
    const leases = createMemoryLeaseSet();
    expect(await leases.acquire('k', 'h', 0, 30_000)).toBe(false);
    expect(leases.size).toBe(0);
    expect(await leases.acquire('k', 'h', 2, 30_000)).toBe(true);
    expect(await leases.acquire('k', 'h', 2, 30_000)).toBe(true); // the same holder renews
    await leases.release('k', 'h');
    expect(leases.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('frees a topic slot of the quotas an hour after it was taken', async () => {
    const quotas = createQuotas({ limits: { topics: 1 } });
    await quotas.acquire('ip:192.0.2.1', 'topics', '/a');
    await expect(quotas.acquire('ip:192.0.2.1', 'topics', '/b')).rejects.toMatchObject({ status: 429 });
    await vi.advanceTimersByTimeAsync(TOPIC_LEASE_MS + 2000);
    // Lapsed, and gone from the set (the timer off), so a new topic may be taken.
    expect(vi.getTimerCount()).toBe(0);
    await quotas.acquire('ip:192.0.2.1', 'topics', '/b');
    quotas.close();
  });
});
