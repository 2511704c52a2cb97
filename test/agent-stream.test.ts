/**
 * The run as an async generator: `runAgent` hands a model call's events out straight from the
 * provider's iterator (not through the steps' generator), and must still behave as an async
 * generator does — calls answered in order, the model's stream closed when the consumer leaves or
 * throws, a failure inside the call handled by the loop as a `for await` body's would be.
 */
import { describe, expect, it } from 'vitest';
import { runAgent } from '../src/agent/index.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { Provider } from '../src/providers/types.ts';
import { collect } from './providers-helpers.ts';

const USAGE = { type: 'usage', inputTokens: 3, outputTokens: 2, totalTokens: 5, reasoningTokens: null, cachedInputTokens: null } as const;

/** A model that streams `events` and records whether its generator's `finally` ran. */
function recordingModel(events: AgentEvent[], after?: () => never): Provider & { closed: () => boolean; signals: AbortSignal[] } {
  let closed = false;
  const signals: AbortSignal[] = [];
  const provider = async function* (_request: unknown, options?: { signal?: AbortSignal }): AsyncGenerator<AgentEvent> {
    if (options?.signal) signals.push(options.signal);
    try {
      for (const event of events) yield event;
      after?.();
    } finally {
      closed = true;
    }
  };
  return Object.assign(provider as Provider, { closed: () => closed, signals });
}

/**
 * A model whose events are at hand at once (a replay, a local model): a plain iterator, not a
 * generator, each `next()` an already settled promise; `close` is its `return()`, if it has one.
 */
function readyModel(events: AgentEvent[], close?: () => Promise<IteratorResult<AgentEvent>>): Provider {
  return () => {
    let at = 0;
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve(at < events.length ? { value: events[at++] as AgentEvent, done: false } : { value: undefined, done: true }),
        ...(close === undefined ? {} : { return: close }),
      }),
    };
  };
}

const answer = (text: string[]): AgentEvent[] => [
  { type: 'message-start', messageId: 'm1' },
  { type: 'text-start', id: 't' },
  ...text.map((delta): AgentEvent => ({ type: 'text-delta', id: 't', delta })),
  { type: 'text-end', id: 't' },
  USAGE,
  { type: 'finish', finishReason: 'stop' },
];

const run = (provider: Provider) => runAgent({ provider, model: 'scripted', messages: [{ role: 'user', content: 'Hi' }] });

describe('runAgent as an async generator', () => {
  it('answers next() calls made before the previous one settled in order, as for await would see them', async () => {
    const provider = recordingModel(answer(['a', 'b', 'c', 'd']));
    const expected = await collect(run(provider));
    const stream = run(recordingModel(answer(['a', 'b', 'c', 'd'])));
    // All at once: every call queues behind the one before it.
    const results = await Promise.all(Array.from({ length: expected.length + 2 }, () => stream.next()));
    expect(results.slice(0, expected.length).map((result) => result.value)).toEqual(expected);
    expect(results.slice(expected.length)).toEqual([
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
    expect(expected.map((event) => event.type)).toEqual([
      'message-start',
      'step-start',
      'text-start',
      'text-delta',
      'text-delta',
      'text-delta',
      'text-delta',
      'text-end',
      'step-finish',
      'usage',
      'finish',
    ]);
  });

  it('closes the model’s stream and aborts the run’s signal when the consumer leaves in the middle of an answer', async () => {
    const provider = recordingModel(answer(['a', 'b', 'c']));
    const stream = run(provider);
    const seen: string[] = [];
    for await (const event of stream) {
      seen.push(event.type);
      if (event.type === 'text-delta') break;
    }
    expect(seen).toEqual(['message-start', 'step-start', 'text-start', 'text-delta']);
    expect(provider.closed()).toBe(true);
    expect(provider.signals[0]?.aborted).toBe(true);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('queues a return() made while a next() is pending behind it', async () => {
    const provider = recordingModel(answer(['a', 'b']));
    const stream = run(provider);
    const [first, returned, after] = await Promise.all([stream.next(), stream.return(), stream.next()]);
    expect(first).toEqual({ value: { type: 'message-start', messageId: 'm1' }, done: false });
    expect(returned).toEqual({ value: undefined, done: true });
    expect(after).toEqual({ value: undefined, done: true });
    expect(provider.closed()).toBe(true);
  });

  it('sends the usage so far and the model’s error, and closes the model’s stream, when the model sends error mid-answer', async () => {
    const provider = recordingModel([
      { type: 'message-start', messageId: 'm1' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'half' },
      USAGE,
      { type: 'error', code: 'overloaded', message: 'The model is overloaded.', retryable: true },
      { type: 'text-delta', id: 't', delta: 'never sent' },
    ]);
    const events = await collect(run(provider));
    expect(events.map((event) => event.type)).toEqual(['message-start', 'step-start', 'text-start', 'text-delta', 'usage', 'error']);
    expect(events.at(-1)).toMatchObject({ code: 'overloaded' });
    expect(provider.closed()).toBe(true);
  });

  it('turns a model that throws after its first events into one terminal error', async () => {
    const provider = recordingModel([{ type: 'message-start', messageId: 'm1' }, { type: 'text-start', id: 't' }], () => {
      throw new Error('socket hang up');
    });
    const events = await collect(run(provider));
    expect(events.map((event) => event.type)).toEqual(['message-start', 'step-start', 'text-start', 'error']);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'internal_error' });
  });

  it('turns an iterator that does not answer with an iterator result into an error, as for await would', async () => {
    let calls = 0;
    const provider: Provider = () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => (calls++ === 0 ? Promise.resolve({ value: { type: 'message-start', messageId: 'm1' } as AgentEvent, done: false }) : (Promise.resolve(42) as never)),
      }),
    });
    const events = await collect(run(provider));
    expect(events.map((event) => event.type)).toEqual(['message-start', 'step-start', 'error']);
  });

  it('closes the model’s stream and ends with an error when an event of the model cannot be handled (a tool call whose input has no JSON)', async () => {
    const provider = recordingModel([
      { type: 'message-start', messageId: 'm1' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { n: 1n } },
      { type: 'finish', finishReason: 'tool-calls' },
    ]);
    const events = await collect(run(provider));
    // The call's start was made before its input failed to serialize: it goes out first.
    expect(events.map((event) => event.type)).toEqual(['message-start', 'step-start', 'tool-call-start', 'error']);
    expect(provider.closed()).toBe(true);
  });

  it('throw() in the middle of an answer closes the model’s stream and ends the run with an error event', async () => {
    const provider = recordingModel(answer(['a', 'b', 'c']));
    const stream = run(provider);
    for (let i = 0; i < 4; i++) await stream.next();
    const thrown = await stream.throw(new Error('the consumer gave up'));
    expect(thrown).toMatchObject({ done: false, value: { type: 'error', code: 'internal_error' } });
    expect(provider.closed()).toBe(true);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('throw() right after the first event ends the run by rethrowing, as before anything else was sent', async () => {
    const provider = recordingModel(answer(['a']));
    const stream = run(provider);
    expect(await stream.next()).toEqual({ value: { type: 'message-start', messageId: 'm1' }, done: false });
    // The generator had sent message-start but not yet marked the run as started: the error came back out.
    await expect(stream.throw(new Error('the consumer gave up'))).rejects.toThrow('the consumer gave up');
    expect(provider.closed()).toBe(true);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('keeps the model’s error and the usage so far when the model’s stream fails to close after the error', async () => {
    const events: AgentEvent[] = [
      { type: 'message-start', messageId: 'm1' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'half' },
      USAGE,
      { type: 'error', code: 'overloaded', message: 'The model is overloaded.', retryable: true },
    ];
    const provider = readyModel(events, () => Promise.reject(new Error('the socket could not be released')));
    // As the run manager reads a run: up to its first terminal event.
    const seen: AgentEvent[] = [];
    for await (const event of run(provider)) {
      seen.push(event);
      if (event.type === 'error' || event.type === 'abort' || event.type === 'finish') break;
    }
    expect(seen.map((event) => event.type)).toEqual(['message-start', 'step-start', 'text-start', 'text-delta', 'usage', 'error']);
    expect(seen.at(-1)).toMatchObject({ type: 'error', code: 'overloaded', retryable: true });
  });

  it('settles next() calls in the order they were made, also one made as an earlier one settles', async () => {
    const events = answer(['a', 'b']);
    const provider = readyModel(events);
    const stream = run(provider);
    const settled: string[] = [];
    const first = stream.next();
    const second = stream.next();
    let third: Promise<unknown> | undefined;
    await Promise.all([
      first.then(() => {
        settled.push('first');
        third = stream.next().then(() => settled.push('third'));
      }),
      second.then(() => settled.push('second')),
    ]);
    await third;
    expect(settled).toEqual(['first', 'second', 'third']);
  });

  it('settles a next() made by other code while an earlier one is still being answered after that one, also while the model call starts', async () => {
    const events = answer(['a', 'b']);
    const provider = readyModel(events);
    // The second call comes from code of its own, a few microtasks after the first one was made
    // (before it settled): an async generator settles it second whatever the delay.
    for (let delay = 0; delay <= 8; delay++) {
      const stream = run(provider);
      const settled: string[] = [];
      const first = stream.next().then((result) => settled.push(`first ${result.done ? 'done' : result.value.type}`));
      const second = (async () => {
        for (let i = 0; i < delay; i++) await null;
        const result = await stream.next();
        settled.push(`second ${result.done ? 'done' : result.value.type}`);
      })();
      await Promise.all([first, second]);
      expect({ delay, settled }).toEqual({ delay, settled: ['first message-start', 'second step-start'] });
      await stream.return();
    }
  });

  it('reads a model that returns a sync iterable (a JavaScript caller’s array or generator), as for await would', async () => {
    const provider = (() => answer(['a', 'b'])) as unknown as Provider;
    const events = await collect(run(provider));
    expect(events.map((event) => event.type)).toEqual(['message-start', 'step-start', 'text-start', 'text-delta', 'text-delta', 'text-end', 'step-finish', 'usage', 'finish']);
  });

  it('is its own async iterator and can be disposed', async () => {
    const provider = recordingModel(answer(['a']));
    const stream = run(provider);
    expect(stream[Symbol.asyncIterator]()).toBe(stream);
    await stream.next();
    await stream[Symbol.asyncDispose]();
    expect(provider.closed()).toBe(true);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
