import { afterEach, expect, it, vi } from 'vitest';
import type { Sink } from './stream-engine.ts';

// Cloudflare Workers keep timers per request: there the wheel gives each stream a timer of its
// own. The modules are loaded fresh with Workers' user agent.
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  vi.resetModules();
});

it("on Cloudflare Workers each stream's deadlines use its own timer, with the same heartbeat semantics", async () => {
  vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
  vi.resetModules();
  const wheel = await import('./deadline-wheel.ts');
  const { createStreamEngine } = await import('./stream-engine.ts');
  const { sse } = await import('../sse/sse-format.ts');
  expect(wheel.OWN_TIMERS).toBe(true);
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  const timers = vi.spyOn(globalThis, 'setTimeout');
  const early = Promise.withResolvers<void>();
  const end = Promise.withResolvers<void>();
  const sinks = [0, 1].map(() => {
    const sink = {
      writes: [] as string[],
      commit: () => undefined,
      write(chunk: string | Uint8Array) {
        sink.writes.push(String(chunk));
        return true;
      },
      end: () => undefined,
      abort: () => undefined,
    };
    return sink;
  });
  const engines = sinks.map((sink, i) =>
    createStreamEngine(
      async function* () {
        if (i === 1) {
          await early.promise;
          yield { data: 'early' };
        }
        await end.promise;
        yield* [];
      },
      { format: sse(), holdHeadersMs: 100, heartbeatMs: 500 },
      sink as Sink,
    ),
  );
  for (const engine of engines) engine.start();
  // A timer per stream.
  expect(timers.mock.calls.length).toBe(2);
  vi.advanceTimersByTime(100);
  expect(sinks.map((sink) => sink.writes)).toEqual([[': ping\n\n'], [': ping\n\n']]);
  // The second stream writes 300 ms later: its next ping waits 500 ms from that write.
  vi.advanceTimersByTime(300);
  early.resolve();
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  vi.advanceTimersByTime(200);
  expect(sinks.map((sink) => sink.writes)).toEqual([
    [': ping\n\n', ': ping\n\n'],
    [': ping\n\n', 'data: early\n\n'],
  ]);
  vi.advanceTimersByTime(299);
  expect(sinks[1]!.writes).toHaveLength(2);
  vi.advanceTimersByTime(1);
  expect(sinks[1]!.writes).toEqual([': ping\n\n', 'data: early\n\n', ': ping\n\n']);
  end.resolve();
  await Promise.all(engines.map((engine) => engine.done));
});
