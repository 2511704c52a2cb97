/**
 * The Web path with `{ request }`: a body cancelled and the request's signal aborted in the same
 * tick (a runtime that does both when the client leaves) ends the stream once, as a disconnect,
 * with no exception thrown from the abort listener (which would be uncaught and end the process).
 */
import { describe, expect, it } from 'vitest';
import { streamingResponse } from '../src/core/streaming-response.ts';
import type { StreamResult } from '../src/core/types.ts';

/** Errors thrown from event listeners reach `uncaughtException` (Node's EventTarget reports them there). */
async function uncaughtDuring(run: () => Promise<void>): Promise<unknown[]> {
  const caught: unknown[] = [];
  const onUncaught = (error: unknown): void => void caught.push(error);
  // Vitest's own handler would fail the run; this test counts them instead.
  const previous = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    await run();
    // Listener errors are rethrown on a later tick.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const listener of previous) process.on('uncaughtException', listener);
  }
  return caught;
}

async function* numbers(signal: AbortSignal): AsyncGenerator<string> {
  for (let i = 0; !signal.aborted; i++) {
    yield `${i}\n`;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('streamingResponse(…, { request }) when the client leaves', () => {
  for (const order of ['cancel, then abort', 'abort, then cancel'] as const) {
    it(`body cancelled and request aborted in the same tick (${order}): one disconnect, nothing thrown`, async () => {
      let result: StreamResult | undefined;
      const caught = await uncaughtDuring(async () => {
        const client = new AbortController();
        const response = await streamingResponse(numbers, { request: client, onFinish: (finished) => void (result = finished) });
        const reader = response.body!.getReader();
        await reader.read();
        if (order === 'cancel, then abort') {
          const cancelled = reader.cancel(new DOMException('gone', 'AbortError'));
          client.abort();
          await cancelled;
        } else {
          client.abort();
          await reader.cancel(new DOMException('gone', 'AbortError'));
        }
      });
      expect(caught).toEqual([]);
      expect(result?.outcome).toBe('disconnected');
    });
  }
});
