import { describe, expect, it } from 'vitest';
import { sse } from '../sse/sse-format.ts';
import { createStreamEngine, type Sink } from './stream-engine.ts';
import { text } from './text-format.ts';
import type { Source, StreamOptions } from './types.ts';

function recordingSink(room = true): Sink & { writes: string[]; ended: boolean; statuses: number[]; aborts: boolean[] } {
  const sink = {
    writes: [] as string[],
    ended: false,
    statuses: [] as number[],
    aborts: [] as boolean[],
    commit(status: number) {
      sink.statuses.push(status);
    },
    write(chunk: string | Uint8Array) {
      sink.writes.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      return room;
    },
    end() {
      sink.ended = true;
    },
    abort(_error: unknown, afterWrites?: boolean) {
      sink.aborts.push(afterWrites === true);
    },
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

  describe('an error right after the first item, before the flush turn wrote it', () => {
    const boom = (first: unknown) =>
      function* () {
        yield first;
        throw new Error('boom');
      };

    it('commits 200 and sends the item, then the format’s error event (sse)', async () => {
      const sink = await run(boom({ data: 'one' }), { format: sse() });
      expect(sink.statuses).toEqual([200]);
      expect(sink.writes).toEqual([
        'data: one\n\n',
        'event: error\ndata: {"code":"internal_error","message":"The stream failed because of an internal error."}\n\n',
      ]);
      expect(sink.ended).toBe(true);
    });

    it('commits 200 and sends the item, then aborts after it (text, no in-band signal)', async () => {
      const sink = await run(boom('one'), { format: text() });
      expect(sink.statuses).toEqual([200]);
      expect(sink.writes).toEqual(['one']);
      expect(sink.aborts).toEqual([true]);
      expect(sink.ended).toBe(false);
    });

    it('still answers a real status when no item was ready (the first one failed to encode)', async () => {
      const sink = await run(boom({ event: 'bad\nevent', data: 'one' }), { format: sse() });
      expect(sink.statuses).toEqual([500]);
      expect(sink.writes).toHaveLength(1);
      expect(JSON.parse(sink.writes[0] as string)).toMatchObject({ error: { code: 'sse_invalid_field' } });
    });
  });
});
