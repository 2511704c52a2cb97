import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.ts';
import { logEvents } from '../src/server/runs/follow-stream.ts';
import { createMemoryStore } from '../src/store/memory.ts';

async function collect(iterable: AsyncIterable<{ id: number; event: { type: string } }>): Promise<string[]> {
  const out: string[] = [];
  for await (const { id, event } of iterable) out.push(`${id}:${event.type}`);
  return out;
}

describe('logEvents', () => {
  it('throws a first response whose first event is an error, with its status', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's1' });
    await writer.append({ type: 'error', code: 'rate_limited', message: 'slow down', retryable: true, status: 429 });
    const error = await collect(logEvents(store, 's1', 0, true)(new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).status).toBe(429);
    // A follower that is not the first response reads the same error as an event.
    expect(await collect(logEvents(store, 's1', 0, false)(new AbortController().signal))).toEqual(['1:error']);
    await store.close();
  });

  it('checks only the first event: an error later in the log is an event like any other', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's2' });
    await writer.append({ type: 'text-delta', id: 't', delta: 'a' });
    await writer.append({ type: 'error', code: 'upstream', message: 'gone', retryable: false });
    expect(await collect(logEvents(store, 's2', 0, true)(new AbortController().signal))).toEqual(['1:text-delta', '2:error']);
    await store.close();
  });

  it('ends cleanly after the event `until` marks, while the stream goes on, with the first-event check too', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's3' });
    await writer.append({ type: 'text-delta', id: 't', delta: 'a' });
    await writer.append({ type: 'text-delta', id: 't', delta: 'b' });
    await writer.append({ type: 'text-delta', id: 't', delta: 'c' });
    const seen: number[] = [];
    const until = (stored: { id: number }): boolean => {
      seen.push(stored.id);
      return stored.id === 2;
    };
    expect(await collect(logEvents(store, 's3', 0, true, until)(new AbortController().signal))).toEqual(['1:text-delta', '2:text-delta']);
    expect(seen).toEqual([1, 2]);
    // Not a first response: `until` alone.
    expect(await collect(logEvents(store, 's3', 1, false, (stored) => stored.id === 3)(new AbortController().signal))).toEqual(['2:text-delta', '3:text-delta']);
    expect((await store.info('s3'))?.lastId).toBe(3);
    await writer.append({ type: 'finish', finishReason: 'stop' });
    await store.close();
  });

  it('hands the store’s own iterable out when there is nothing to check', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's4' });
    await writer.append({ type: 'finish', finishReason: 'stop' });
    const log = logEvents(store, 's4', 0, false)(new AbortController().signal);
    expect(Object.getPrototypeOf(log)).not.toBe(Object.prototype);
    expect(await collect(log)).toEqual(['1:finish']);
    await store.close();
  });
});
