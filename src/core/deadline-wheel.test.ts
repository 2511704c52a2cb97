import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sse } from '../sse/sse-format.ts';
import { deadlineWheelState, linkDeadline, restartDeadline, unlinkDeadline, type DeadlineEntry } from './deadline-wheel.ts';
import { createStreamEngine, type Sink, type StreamEngine } from './stream-engine.ts';

// Fake clock and timers (setImmediate stays real: the engine's flush turns run on it).
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  // Every test leaves the wheel empty (and so its timer cleared).
  expect(deadlineWheelState()).toEqual({ entries: 0, lists: 0, armed: false });
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Lets the engine's flush turns (real setImmediate) and promise jobs run. */
async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function entry(name: string, log: string[], onDue?: (self: DeadlineEntry) => void): DeadlineEntry {
  const self: DeadlineEntry = {
    deadlineList: undefined,
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlineSince: 0,
    deadlineDue() {
      log.push(`${name}@${performance.now()}`);
      onDue?.(self);
    },
  };
  return self;
}

describe('the deadline wheel', () => {
  it('calls each entry once its interval is over, in due order, with one timer for all', () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const log: string[] = [];
    const start = performance.now();
    const entries = ['a', 'b', 'c'].map((name) => entry(name, log));
    for (const [i, e] of entries.entries()) {
      vi.advanceTimersByTime(i === 0 ? 0 : 10);
      linkDeadline(e, 100, performance.now());
    }
    // A later write restarts a's wait: it moves behind the others.
    vi.advanceTimersByTime(30);
    restartDeadline(entries[0]!, performance.now());
    expect(deadlineWheelState()).toMatchObject({ entries: 3, lists: 1, armed: true });
    vi.advanceTimersByTime(200);
    expect(log).toEqual([`b@${start + 110}`, `c@${start + 120}`, `a@${start + 150}`]);
    // One timer armed when the list got its head, then once per head that moved later.
    expect(timers.mock.calls.length).toBeLessThanOrEqual(4);
    expect(deadlineWheelState()).toEqual({ entries: 0, lists: 0, armed: false });
  });

  it('keeps one list per interval and drops it once empty; an unlinked entry is never called', () => {
    const log: string[] = [];
    const start = performance.now();
    const slow = entry('slow', log);
    const fast = entry('fast', log);
    const gone = entry('gone', log);
    linkDeadline(slow, 1000, start);
    linkDeadline(gone, 1000, start);
    linkDeadline(fast, 50, start);
    expect(deadlineWheelState()).toMatchObject({ entries: 3, lists: 2 });
    unlinkDeadline(gone);
    vi.advanceTimersByTime(60);
    expect(log).toEqual([`fast@${start + 50}`]);
    expect(deadlineWheelState()).toMatchObject({ entries: 1, lists: 1 });
    vi.advanceTimersByTime(1000);
    expect(log).toEqual([`fast@${start + 50}`, `slow@${start + 1000}`]);
    expect(deadlineWheelState()).toEqual({ entries: 0, lists: 0, armed: false });
  });

  it('calls an entry that links itself again from its callback at the next run, even with a 0 ms interval', () => {
    const log: string[] = [];
    let left = 3;
    const again = entry('again', log, (self) => {
      if (--left > 0) linkDeadline(self, 0, performance.now());
    });
    linkDeadline(again, 0, performance.now());
    vi.advanceTimersByTime(0);
    expect(log).toHaveLength(1);
    // (The fake clock runs a 0 ms timer set from a timer 1 ms later.)
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(1);
    expect(log).toHaveLength(3);
    expect(deadlineWheelState().entries).toBe(0);
  });
});

function pingSink(room: () => boolean = () => true): Sink & { writes: string[] } {
  const sink = {
    writes: [] as string[],
    commit: () => undefined,
    write(chunk: string | Uint8Array) {
      sink.writes.push(String(chunk));
      return room();
    },
    end: () => undefined,
    abort: () => undefined,
  };
  return sink;
}

const pings = (sink: { writes: string[] }): number => sink.writes.filter((w) => w === ': ping\n\n').length;

describe('heartbeats on the wheel', () => {
  it('1,000 idle streams share one timer: each sends its head and a ping after holdHeadersMs, then a ping every heartbeatMs', async () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const gate = Promise.withResolvers<void>();
    const streams: { engine: StreamEngine; sink: ReturnType<typeof pingSink> }[] = [];
    for (let i = 0; i < 1000; i++) {
      const sink = pingSink();
      const engine = createStreamEngine(
        async function* () {
          await gate.promise;
          yield* [];
        },
        { format: sse(), holdHeadersMs: 1000, heartbeatMs: 5000 },
        sink,
      );
      engine.start();
      streams.push({ engine, sink });
    }
    await turns();
    expect(deadlineWheelState()).toMatchObject({ entries: 1000, lists: 1 });
    vi.advanceTimersByTime(1000);
    expect(streams.every(({ sink }) => pings(sink) === 1)).toBe(true);
    vi.advanceTimersByTime(4999);
    expect(streams.every(({ sink }) => pings(sink) === 1)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(streams.every(({ sink }) => pings(sink) === 2)).toBe(true);
    vi.advanceTimersByTime(5000);
    expect(streams.every(({ sink }) => pings(sink) === 3)).toBe(true);
    // Not a timer per stream and deadline: a handful for all of them.
    expect(timers.mock.calls.length).toBeLessThan(10);
    for (const { engine } of streams) engine.cancel(new Error('done'), 'disconnected');
    gate.resolve();
    expect(deadlineWheelState()).toEqual({ entries: 0, lists: 0, armed: false });
  });

  it('sends a ping only after heartbeatMs without a write: each write restarts the wait', async () => {
    const sink = pingSink();
    const items: PromiseWithResolvers<void>[] = Array.from({ length: 4 }, () => Promise.withResolvers<void>());
    const engine = createStreamEngine(
      async function* () {
        for (const [i, item] of items.entries()) {
          await item.promise;
          yield { data: String(i) };
        }
      },
      { format: sse(), heartbeatMs: 1000 },
      sink,
    );
    engine.start();
    for (let i = 0; i < 3; i++) {
      items[i]!.resolve();
      await turns();
      vi.advanceTimersByTime(600);
    }
    // Writes at 0, 600 and 1200 ms: never 1000 ms idle yet.
    expect(sink.writes).toEqual(['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n']);
    vi.advanceTimersByTime(399);
    expect(pings(sink)).toBe(0);
    vi.advanceTimersByTime(1);
    expect(pings(sink)).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(pings(sink)).toBe(2);
    items[3]!.resolve();
    await engine.done;
    expect(sink.writes.at(-1)).toBe('data: 3\n\n');
    expect(deadlineWheelState().entries).toBe(0);
  });

  it('sends no ping while the consumer is full, and the first one heartbeatMs after it has room again', async () => {
    let room = false;
    const sink = pingSink(() => room);
    const gate = Promise.withResolvers<void>();
    const engine = createStreamEngine(
      async function* () {
        yield { data: 'first' };
        await gate.promise;
      },
      { format: sse(), heartbeatMs: 100 },
      sink,
    );
    engine.start();
    await turns();
    expect(sink.writes).toEqual(['data: first\n\n']);
    vi.advanceTimersByTime(1000);
    expect(pings(sink)).toBe(0);
    expect(deadlineWheelState().entries).toBe(0);
    room = true;
    engine.resume();
    vi.advanceTimersByTime(99);
    expect(pings(sink)).toBe(0);
    vi.advanceTimersByTime(1);
    expect(pings(sink)).toBe(1);
    engine.cancel(new Error('done'), 'disconnected');
    gate.resolve();
    expect(deadlineWheelState().entries).toBe(0);
  });

  it('ends a stream whose consumer stays full for sendTimeoutMs, as a disconnect', async () => {
    const sink = pingSink(() => false);
    const engine = createStreamEngine(
      async function* () {
        yield { data: 'first' };
        await new Promise(() => undefined);
      },
      { format: sse(), heartbeatMs: 100, sendTimeoutMs: 500 },
      sink,
    );
    engine.start();
    await turns();
    vi.advanceTimersByTime(499);
    await turns();
    const early = await Promise.race([engine.done, Promise.resolve('running')]);
    expect(early).toBe('running');
    vi.advanceTimersByTime(1);
    expect((await engine.done).outcome).toBe('disconnected');
    expect(pings(sink)).toBe(0);
    expect(deadlineWheelState().entries).toBe(0);
  });
});
