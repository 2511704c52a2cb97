import { describe, expect, it } from 'vitest';
import { sse } from '../sse/sse-format.ts';
import { createStreamEngine, type Sink } from './stream-engine.ts';
import { text } from './text-format.ts';
import type { Source, StreamOptions } from './types.ts';

function recordingSink(room = true): Sink & { writes: string[]; ended: boolean } {
  const sink = {
    writes: [] as string[],
    ended: false,
    commit: () => undefined,
    write(chunk: string | Uint8Array) {
      sink.writes.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      return room;
    },
    end() {
      sink.ended = true;
    },
    abort: () => undefined,
  };
  return sink;
}

async function run<T>(source: Source<T>, options: StreamOptions<T> = {}): Promise<ReturnType<typeof recordingSink>> {
  const sink = recordingSink();
  const engine = createStreamEngine(source, options, sink);
  engine.start();
  await engine.done;
  return sink;
}

describe('the pull engine', () => {
  it('writes items that are ready at once together, in one write', async () => {
    const sink = await run(Array.from({ length: 100 }, (_, i) => `${i},`));
    expect(sink.writes).toHaveLength(1);
    expect(sink.writes[0]).toBe(Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
  });

  it('also gathers the items of an async generator that yields without waiting', async () => {
    const sink = await run(
      (async function* () {
        for (let i = 0; i < 100; i++) yield { data: i };
      })(),
      { format: sse() },
    );
    expect(sink.writes).toHaveLength(1);
  });

  it('writes an item that arrives alone at once, without waiting for more', async () => {
    const sink = recordingSink();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const engine = createStreamEngine(
      (async function* () {
        yield 'first';
        await gate;
        yield 'second';
      })(),
      { format: text() },
      sink,
    );
    engine.start();
    await expect.poll(() => sink.writes).toEqual(['first']);
    release();
    await engine.done;
    expect(sink.writes).toEqual(['first', 'second']);
  });

  it('splits a large burst at maxBatchBytes, so no write grows without bound', async () => {
    const sink = await run(Array.from({ length: 1000 }, () => 'x'.repeat(100)), { maxBatchBytes: 10_000 });
    expect(sink.writes.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...sink.writes.map((w) => w.length))).toBeLessThanOrEqual(10_000);
    expect(sink.writes.join('').length).toBe(100_000);
  });

  it('gathers byte chunks and strings that are ready at once into one write', async () => {
    const encoder = new TextEncoder();
    const sink = await run(['a', encoder.encode('b'), 'c', encoder.encode('d')]);
    expect(sink.writes).toEqual(['abcd']);
  });

  it('pulls no further while the sink is full, and goes on when it has room', async () => {
    let pulled = 0;
    const sink = recordingSink(false);
    const engine = createStreamEngine(
      (function* () {
        for (;;) {
          pulled++;
          yield 'x'.repeat(1000);
        }
      })(),
      { maxBatchBytes: 1000 },
      sink,
    );
    engine.start();
    await expect.poll(() => sink.writes.length).toBe(1);
    expect(pulled).toBe(1);
    engine.resume();
    await expect.poll(() => sink.writes.length).toBe(2);
    expect(pulled).toBe(2);
    engine.cancel(new Error('enough'), 'disconnected');
    expect((await engine.done).outcome).toBe('disconnected');
  });
});
