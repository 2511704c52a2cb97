import { afterEach, describe, expect, it, vi } from 'vitest';
import { Watchdog } from './watchdog.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Watchdog', () => {
  it('re-arming before every chunk moves the deadline without making a timer each time', async () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const watchdog = new Watchdog(new AbortController());
    watchdog.arm(60_000, 'first-token');
    for (let i = 0; i < 1000; i++) {
      watchdog.arm(30_000, 'idle');
      await watchdog.race(Promise.resolve(i));
      watchdog.disarm();
    }
    // One for the first-token deadline, one when the sooner idle deadline came.
    expect(timers.mock.calls.length).toBeLessThanOrEqual(2);
    watchdog.dispose();
  });

  it('fires after the budget: aborts the controller, rejects the raced wait, says which deadline', async () => {
    const controller = new AbortController();
    const watchdog = new Watchdog(controller);
    watchdog.arm(20, 'idle');
    const started = performance.now();
    await expect(watchdog.race(new Promise(() => undefined))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
    expect(watchdog.fired).toBe('idle');
    expect(controller.signal.aborted).toBe(true);
  });

  it('does not count time while disarmed, and never fires after dispose', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const controller = new AbortController();
    const watchdog = new Watchdog(controller);
    watchdog.arm(15, 'idle');
    watchdog.disarm();
    vi.advanceTimersByTime(40);
    expect(watchdog.fired).toBeUndefined();
    watchdog.arm(15, 'idle');
    vi.advanceTimersByTime(10);
    watchdog.arm(15, 'idle');
    vi.advanceTimersByTime(10);
    // Re-armed 10 ms in: 20 ms after the first arm, but only 10 ms into the new budget.
    expect(watchdog.fired).toBeUndefined();
    vi.advanceTimersByTime(6);
    expect(watchdog.fired).toBe('idle');
    const other = new Watchdog(new AbortController());
    other.arm(15, 'idle');
    other.dispose();
    vi.advanceTimersByTime(40);
    expect(other.fired).toBeUndefined();
    expect(controller.signal.aborted).toBe(true);
  });
});
