import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.ts';
import type { Format } from '../src/core/types.ts';
import { logEvents, logFollower } from '../src/server/runs/follow-stream.ts';
import type { StoredEvent } from '../src/store/types.ts';
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

  it('logFollower: `until` is told each event as the codec encodes it, before its bytes, and the source ends after the marked one', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's5' });
    for (const delta of ['a', 'b', 'c']) await writer.append({ type: 'text-delta', id: 't', delta });
    const calls: string[] = [];
    let paused = false;
    const codec = {
      contentType: 'text/x-test',
      heartbeat: ': ping\n\n',
      encode: (stored: StoredEvent) => {
        calls.push(`encode ${stored.id}${paused ? ' paused' : ''}`);
        return String(stored.id);
      },
      encodeError: () => 'error',
      pause: () => (paused = true),
    };
    const until = (stored: StoredEvent): boolean => {
      calls.push(`until ${stored.id}`);
      if (stored.id !== 2) return false;
      codec.pause();
      return true;
    };
    const log = logFollower(store, 's5', 0, true, codec, until);
    // The codec's other fields are its own.
    expect(log.format.contentType).toBe('text/x-test');
    expect(log.format.heartbeat).toBe(': ping\n\n');
    expect(log.format.encodeError?.({ code: 'x', message: 'y' })).toBe('error');
    const sent: string[] = [];
    // As the engine reads: encode each event as it arrives, before asking for the next.
    for await (const stored of log.source(new AbortController().signal)) sent.push(String(log.format.encode(stored)));
    expect(sent).toEqual(['1', '2']);
    expect(calls).toEqual(['until 1', 'encode 1', 'until 2', 'encode 2 paused']);
    // Without `until`, the codec is handed back as it is, and the first-event check still holds.
    const plain: Format<StoredEvent> = { contentType: 'text/plain', encode: (stored) => String(stored.id) };
    expect(logFollower(store, 's5', 0, true, plain).format).toBe(plain);
    await writer.append({ type: 'finish', finishReason: 'stop' });
    await store.close();
  });

  it('logFollower: a first response whose first event is an error still throws it', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's6' });
    await writer.append({ type: 'error', code: 'rate_limited', message: 'slow down', retryable: true, status: 429 });
    const log = logFollower(store, 's6', 0, true, { contentType: 'text/plain', encode: () => '' }, () => false);
    const error = await collect(log.source(new AbortController().signal)).catch((e: unknown) => e);
    expect((error as SluiceError).status).toBe(429);
    await store.close();
  });
});
