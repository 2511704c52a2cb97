import { describe, expect, it, vi } from 'vitest';
import { isSluiceError } from '../core/errors.ts';
import { TEXT_EVENTS } from './__fixtures__/agent-events.ts';
import { toChatCompletion } from './to-chat-completion.ts';
import type { AgentEvent } from './types.ts';

const IDS = { id: 'chatcmpl-1', model: 'local', created: 1_700_000_000 };

/** The events of TEXT_EVENTS up to (not including) the terminal `finish`. */
const WITHOUT_TERMINAL = TEXT_EVENTS.filter((event) => event.type !== 'finish');

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('toChatCompletion should have rejected'),
    (error: unknown) => error,
  );
}

describe('toChatCompletion without a terminal event', () => {
  it('rejects a stream with no finish, error or abort with a 5xx incomplete_stream error, never a 200 "stop"', async () => {
    const error = await rejection(toChatCompletion(WITHOUT_TERMINAL, IDS));
    expect(isSluiceError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'incomplete_stream', status: 502 });
    expect((error as Error).message).toMatch(/without a finish, error or abort event/);
  });

  it('rejects an empty stream the same way', async () => {
    await expect(toChatCompletion([], IDS)).rejects.toMatchObject({ code: 'incomplete_stream', status: 502 });
  });

  it('still answers a stream that ends with finish', async () => {
    await expect(toChatCompletion(TEXT_EVENTS, IDS)).resolves.toMatchObject({ choices: [{ finish_reason: 'stop' }] });
  });
});

describe('toChatCompletion with an aborted signal (a client disconnect)', () => {
  it('passes an AbortError thrown by the source through unchanged', async () => {
    const abort = new DOMException('The client disconnected.', 'AbortError');
    async function* events(): AsyncGenerator<AgentEvent> {
      yield* WITHOUT_TERMINAL.slice(0, 3);
      throw abort;
    }
    await expect(toChatCompletion(events(), IDS)).rejects.toBe(abort);
  });

  it('rejects with the signal’s AbortError when the source then ends quietly, not with incomplete_stream', async () => {
    const controller = new AbortController();
    const reason = new DOMException('The client disconnected.', 'AbortError');
    async function* events(): AsyncGenerator<AgentEvent> {
      yield* WITHOUT_TERMINAL.slice(0, 3);
      controller.abort(reason);
      // A producer that notices the abort and simply stops.
    }
    const error = await rejection(toChatCompletion(events(), { ...IDS, signal: controller.signal }));
    expect(error).toBe(reason);
    expect((error as Error).name).toBe('AbortError');
  });

  it('rejects with the signal’s AbortError when the source answers the abort with an abort event', async () => {
    const controller = new AbortController();
    async function* events(): AsyncGenerator<AgentEvent> {
      yield* WITHOUT_TERMINAL.slice(0, 3);
      controller.abort();
      yield { type: 'abort', reason: 'client disconnected' };
    }
    const error = await rejection(toChatCompletion(events(), { ...IDS, signal: controller.signal }));
    expect((error as Error).name).toBe('AbortError');
    expect(isSluiceError(error)).toBe(false);
  });

  it('rejects with the signal’s AbortError when the source fails because of the abort', async () => {
    const controller = new AbortController();
    async function* events(): AsyncGenerator<AgentEvent> {
      yield WITHOUT_TERMINAL[0]!;
      controller.abort();
      throw new TypeError('fetch failed');
    }
    await expect(toChatCompletion(events(), { ...IDS, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('stops waiting on a source stuck before its next event, and calls its return() to release it', async () => {
    const controller = new AbortController();
    let returned = false;
    let reads = 0;
    // A provider stream waiting on upstream: the second next() never settles by itself.
    const source: AsyncIterable<AgentEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: () => (reads++ === 0 ? Promise.resolve({ done: false, value: WITHOUT_TERMINAL[0]! }) : new Promise(() => undefined)),
        return: () => {
          returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
    const pending = toChatCompletion(source, { ...IDS, signal: controller.signal });
    await vi.waitFor(() => expect(reads).toBe(2));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(returned).toBe(true);
  });

  it('rejects at once for a signal already aborted, without reading the source', async () => {
    let read = false;
    function* events(): Generator<AgentEvent> {
      read = true;
      yield* TEXT_EVENTS;
    }
    await expect(toChatCompletion(events(), { ...IDS, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(read).toBe(false);
  });
});
