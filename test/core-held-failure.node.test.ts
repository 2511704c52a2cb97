/**
 * The Web path holds the stream's own failure (a source error or a stop, on a format with no
 * in-band signal) until the reader has taken the chunks written before it — but not for ever: a
 * consumer that stopped reading gets the error after HOLD_FAILURE_MS (1 s) without reading, and at
 * once when the client is gone. Timing-sensitive (waits of seconds): in the `timing` project.
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../src/core/sleep.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { text } from '../src/core/text-format.ts';

/** One item, then a failure at once (before the engine's flush turn). */
function* oneThenFail(): Generator<string> {
  yield 'written before the failure';
  throw new Error('then failed');
}

describe('a held failure of the Web body', () => {
  it('errors a body nobody reads within a few seconds (the hold is bounded), dropping the unread chunk', async () => {
    const response = await streamingResponse(oneThenFail, { format: text() });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await sleep(3000);
    // Held for good, this read would still get the chunk.
    await expect(reader.read()).rejects.toThrow('then failed');
  });

  it('errors the body at once when the client leaves while the failure is held', async () => {
    const client = new AbortController();
    const response = await streamingResponse(oneThenFail, { format: text(), request: { signal: client.signal } });
    const reader = response.body!.getReader();
    client.abort();
    await sleep(50);
    await expect(reader.read()).rejects.toThrow('then failed');
  });

  it('gives a reader that keeps reading the chunk first, then the error', async () => {
    const response = await streamingResponse(oneThenFail, { format: text() });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('written before the failure');
    await expect(reader.read()).rejects.toThrow('then failed');
  });
});
