/**
 * The agent loop: tools that stream, fail or are aborted; steps and the one terminal event; client
 * tools. Models are scripted providers here (see agent-providers.test.ts for the real SDKs).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runAgent, tool } from '../src/agent/index.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { ChatRequest, Provider } from '../src/providers/types.ts';
import { collect, within } from './providers-helpers.ts';

/** A promise with its resolve function outside. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const STOP = { type: 'finish', finishReason: 'stop' } as const;

/** A model that calls `calls` in its first step and answers `answer` in its second; records requests. */
function scriptedModel(calls: { id: string; name: string; input: unknown }[], answer = 'Done.'): Provider & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  const provider = async function* (request: ChatRequest): AsyncGenerator<AgentEvent> {
    requests.push(structuredClone(request));
    yield { type: 'message-start', messageId: `m${requests.length}` };
    if (requests.length === 1 && calls.length > 0) {
      for (const call of calls) {
        yield { type: 'tool-call-start', toolCallId: call.id, toolName: call.name };
        yield { type: 'tool-call-delta', toolCallId: call.id, delta: JSON.stringify(call.input) };
        yield { type: 'tool-call', toolCallId: call.id, toolName: call.name, input: call.input };
      }
      yield { type: 'usage', inputTokens: 10, outputTokens: 5, totalTokens: 15, reasoningTokens: null, cachedInputTokens: null };
      yield { type: 'finish', finishReason: 'tool-calls', rawFinishReason: 'tool_calls' };
      return;
    }
    yield { type: 'text-start', id: `t${requests.length}` };
    yield { type: 'text-delta', id: `t${requests.length}`, delta: answer };
    yield { type: 'text-end', id: `t${requests.length}` };
    yield { type: 'usage', inputTokens: 20, outputTokens: 2, totalTokens: 22, reasoningTokens: null, cachedInputTokens: null };
    yield STOP;
  };
  return Object.assign(provider, { requests });
}

const LOOKUP_CALL = { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: {} } as const;

/**
 * Runs a model whose first step streams `events` then calls `lookup`, and returns the assistant
 * message's content the second model call was sent: the step as the loop rebuilt it.
 */
async function messageAfterToolStep(events: AgentEvent[]): Promise<unknown> {
  const requests: ChatRequest[] = [];
  const lookup = tool({ name: 'lookup', description: 'Looks up.', input: z.object({}), execute: () => 'found' });
  const provider: Provider = async function* (request) {
    requests.push(structuredClone(request));
    if (requests.length > 1) {
      yield STOP;
      return;
    }
    yield* events;
    yield LOOKUP_CALL;
    yield { type: 'finish', finishReason: 'tool-calls' };
  };
  await collect(runAgent({ provider, model: 'scripted', messages: [{ role: 'user', content: 'Hi' }], tools: [lookup] }));
  expect(requests).toHaveLength(2);
  return requests[1]!.messages.find((message) => message.role === 'assistant')?.content;
}

const types = (events: AgentEvent[]): string[] => events.map((event) => event.type);
const terminals = (events: AgentEvent[]): AgentEvent[] => events.filter((e) => e.type === 'finish' || e.type === 'error' || e.type === 'abort');


/** A tool that reports progress once, then waits until its signal aborts; `started` and `cleaned` open when it starts and when its finally runs. */
function waitingTool() {
  const started = gate<AbortSignal>();
  const cleaned = gate();
  const wait = tool({
    name: 'wait',
    description: 'Waits until stopped.',
    input: z.object({}),
    async *execute(_input, { signal }) {
      try {
        started.open(signal);
        yield { type: 'progress', done: 0, total: 1 };
        await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        return 'never';
      } finally {
        cleaned.open();
      }
    },
  });
  return { wait, started, cleaned };
}

describe('runAgent', () => {
  it('streams a tool’s first progress to the client before the tool has finished', async () => {
    const release = gate();
    let finished = false;
    const slow = tool({
      name: 'slow',
      description: 'Works in two halves.',
      input: z.object({}),
      async *execute() {
        yield { type: 'progress', done: 1, total: 2, message: 'half way' };
        await release.promise;
        yield { type: 'progress', done: 2, total: 2 };
        finished = true;
        return 'ok';
      },
    });
    const model = scriptedModel([{ id: 'c1', name: 'slow', input: {} }]);
    const events: AgentEvent[] = [];
    for await (const event of runAgent({ provider: model, model: 'm', messages: [{ role: 'user', content: 'go' }], tools: [slow] })) {
      events.push(event);
      if (event.type === 'progress' && event.done === 1) {
        // The client holds the first progress while the tool is still waiting on the gate.
        expect(finished).toBe(false);
        expect(event).toEqual({ type: 'progress', toolCallId: 'c1', done: 1, total: 2, message: 'half way' });
        release.open();
      }
    }
    expect(finished).toBe(true);
    expect(types(events)).toEqual([
      'message-start',
      'step-start',
      'tool-call-start',
      'tool-call-delta',
      'tool-call',
      'step-finish',
      'progress',
      'progress',
      'tool-result',
      'step-start',
      'text-start',
      'text-delta',
      'text-end',
      'step-finish',
      'usage',
      'finish',
    ]);
    expect(events.find((e) => e.type === 'tool-result')).toEqual({ type: 'tool-result', toolCallId: 'c1', toolName: 'slow', output: 'ok' });
    expect(events.filter((e) => e.type === 'step-start')).toEqual([{ type: 'step-start', step: 1 }, { type: 'step-start', step: 2 }]);
    expect(events.at(-2)).toMatchObject({ type: 'usage', inputTokens: 30, outputTokens: 7, totalTokens: 37 });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('keeps progress monotonic and ends it at total when the tool succeeds', async () => {
    const wobbly = tool({
      name: 'wobbly',
      description: 'Reports progress badly.',
      input: z.object({}),
      async *execute() {
        yield { type: 'progress', done: 3, total: 10 };
        yield { type: 'progress', done: 2, total: 10 };
        yield { type: 'progress', done: 7, total: 10 };
        return 1;
      },
    });
    const events = await collect(runAgent({ provider: scriptedModel([{ id: 'c1', name: 'wobbly', input: {} }]), model: 'm', messages: [], tools: [wobbly] }));
    expect(events.flatMap((e) => (e.type === 'progress' ? [e.done] : []))).toEqual([3, 3, 7, 10]);
  });

  it('turns a tool that throws into tool-error, sends the error back to the model, and goes on to finish', async () => {
    const broken = tool({
      name: 'broken',
      description: 'Always fails.',
      input: z.object({ x: z.number() }),
      execute() {
        throw new Error('disk on fire');
      },
    });
    const model = scriptedModel([
      { id: 'c1', name: 'broken', input: { x: 1 } },
      { id: 'c2', name: 'broken', input: { x: 'not a number' } },
      { id: 'c3', name: 'missing', input: {} },
    ]);
    const events = await collect(runAgent({ provider: model, model: 'm', messages: [{ role: 'user', content: 'go' }], tools: [broken] }));
    // In the order they finished; the unknown tool fails at once.
    const errors = events.filter((e) => e.type === 'tool-error');
    expect(errors).toHaveLength(3);
    expect(errors).toEqual(expect.arrayContaining([
      { type: 'tool-error', toolCallId: 'c1', toolName: 'broken', message: 'disk on fire' },
      { type: 'tool-error', toolCallId: 'c2', toolName: 'broken', message: expect.stringMatching(/^Invalid input for `broken`: x: /) },
      { type: 'tool-error', toolCallId: 'c3', toolName: 'missing', message: 'There is no tool named `missing`. Offered: `broken`.' },
    ]));
    expect(terminals(events)).toEqual([events.at(-1)]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const second = model.requests[1];
    expect(second?.messages.at(-2)).toMatchObject({ role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1' }, { type: 'tool-call' }, { type: 'tool-call' }] });
    expect(second?.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'c1', toolName: 'broken', output: 'disk on fire', isError: true },
        { type: 'tool-result', toolCallId: 'c2', toolName: 'broken', output: expect.stringContaining('Invalid input'), isError: true },
        { type: 'tool-result', toolCallId: 'c3', toolName: 'missing', output: expect.stringContaining('no tool named'), isError: true },
      ],
    });
  });

  it('fails a tool that outlives toolTimeoutMs, aborting its signal, and goes on', async () => {
    let toolSignal: AbortSignal | undefined;
    const hang = tool({
      name: 'hang',
      description: 'Never ends by itself.',
      input: z.object({}),
      execute: (_input, { signal }) => {
        toolSignal = signal;
        return new Promise<never>(() => undefined);
      },
    });
    const events = await collect(
      runAgent({ provider: scriptedModel([{ id: 'c1', name: 'hang', input: {} }]), model: 'm', messages: [], tools: [hang], toolTimeoutMs: 20 }),
    );
    expect(events.find((e) => e.type === 'tool-error')).toEqual({ type: 'tool-error', toolCallId: 'c1', toolName: 'hang', message: 'The tool `hang` timed out after 20 ms.' });
    expect(toolSignal?.aborted).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('aborting mid-tool aborts the tool’s signal, runs its finally and ends with one abort', async () => {
    const { wait, started, cleaned } = waitingTool();
    const controller = new AbortController();
    const model = scriptedModel([{ id: 'c1', name: 'wait', input: {} }]);
    const events: AgentEvent[] = [];
    for await (const event of runAgent({ provider: model, model: 'm', messages: [], tools: [wait], signal: controller.signal })) {
      events.push(event);
      if (event.type === 'progress') controller.abort(new DOMException('Stopped by the user.', 'AbortError'));
    }
    const signal = await within(started.promise, 1000, 'the tool never started');
    expect(signal.aborted).toBe(true);
    await within(cleaned.promise, 1000, 'the tool’s finally never ran');
    expect(terminals(events)).toEqual([{ type: 'abort', reason: 'Stopped by the user.' }]);
    expect(events.at(-1)?.type).toBe('abort');
    expect(model.requests).toHaveLength(1);
  });

  it('leaving the stream early (break) aborts the running tools', async () => {
    const { wait, started, cleaned } = waitingTool();
    for await (const event of runAgent({ provider: scriptedModel([{ id: 'c1', name: 'wait', input: {} }]), model: 'm', messages: [], tools: [wait] })) {
      if (event.type === 'progress') break;
    }
    expect((await within(started.promise, 1000, 'the tool never started')).aborted).toBe(true);
    await within(cleaned.promise, 1000, 'the tool’s finally never ran');
  });

  it('streams a client tool’s call back and stops after that step with tool-calls', async () => {
    const model = scriptedModel([{ id: 'c1', name: 'pick_color', input: { palette: 'warm' } }]);
    const events = await collect(
      runAgent({
        provider: model,
        model: 'm',
        messages: [{ role: 'user', content: 'pick' }],
        clientTools: [{ name: 'pick_color', description: 'The user picks a color.', inputSchema: { type: 'object', properties: { palette: { type: 'string' } } } }],
      }),
    );
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]?.tools?.map((t) => t.name)).toEqual(['pick_color']);
    expect(types(events)).toEqual(['message-start', 'step-start', 'tool-call-start', 'tool-call-delta', 'tool-call', 'step-finish', 'usage', 'finish']);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
  });

  it('sends the step’s text and reasoning back whole, joined from every delta, ended or not', async () => {
    expect(
      await messageAfterToolStep([
        { type: 'reasoning-start', id: 'r' },
        ...['I should ', 'look ', 'it up.'].map((delta): AgentEvent => ({ type: 'reasoning-delta', id: 'r', delta })),
        { type: 'reasoning-end', id: 'r', signature: 'sig' },
        { type: 'text-start', id: 'a' },
        // No text-end: the message is still read whole at the step's end.
        ...['Let ', 'me ', 'check', '.'].map((delta): AgentEvent => ({ type: 'text-delta', id: 'a', delta })),
      ]),
    ).toEqual([{ type: 'reasoning', text: 'I should look it up.', signature: 'sig' }, { type: 'text', text: 'Let me check.' }, LOOKUP_CALL]);
  });

  it('keeps what was written to a part when a provider starts the same id again', async () => {
    expect(
      await messageAfterToolStep([
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'Hello' },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: ' world' },
      ]),
    ).toEqual([{ type: 'text', text: 'Hello' }, { type: 'text', text: ' world' }, LOOKUP_CALL]);
    expect(
      await messageAfterToolStep([
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'A' },
        { type: 'text-end', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'B' },
        { type: 'reasoning-start', id: 'a' },
        { type: 'reasoning-delta', id: 'a', delta: 'hm' },
      ]),
    ).toEqual([{ type: 'text', text: 'AB' }, { type: 'reasoning', text: 'hm' }, LOOKUP_CALL]);
  });

  it('stops after maxSteps model calls', async () => {
    const echo = tool({ name: 'echo', description: 'Echo.', input: z.object({}), execute: () => 'again' });
    let calls = 0;
    const loopy: Provider = async function* () {
      calls++;
      yield { type: 'message-start', messageId: `m${calls}` };
      yield { type: 'tool-call', toolCallId: `c${calls}`, toolName: 'echo', input: {} };
      yield { type: 'finish', finishReason: 'tool-calls' };
    };
    const events = await collect(runAgent({ provider: loopy, model: 'm', messages: [], tools: [echo], maxSteps: 3 }));
    expect(calls).toBe(3);
    // The calls came whole; the loop streams them as start, delta, call all the same.
    expect(types(events).slice(0, 7)).toEqual(['message-start', 'step-start', 'tool-call-start', 'tool-call-delta', 'tool-call', 'step-finish', 'tool-result']);
    expect(events.filter((e) => e.type === 'tool-result')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
    expect(terminals(events)).toHaveLength(1);
  });

  it('reads SLUICE_MAX_STEPS when maxSteps is not given, and rejects a bad value at the call', () => {
    const provider: Provider = async function* () {
      yield STOP;
    };
    expect(() => runAgent({ provider, model: 'm', messages: [], env: { SLUICE_MAX_STEPS: 'zero' } })).toThrow(RangeError);
    expect(() => runAgent({ provider, model: 'm', messages: [], maxSteps: 0 })).toThrow(/`maxSteps` to be an integer ≥ 1, got 0/);
  });

  it('turns a model error into the one terminal error event', async () => {
    const failing: Provider = async function* () {
      yield { type: 'message-start', messageId: 'm' };
      yield { type: 'error', code: 'provider_overloaded', message: 'Overloaded.', retryable: true };
    };
    const events = await collect(runAgent({ provider: failing, model: 'm', messages: [] }));
    expect(types(events)).toEqual(['message-start', 'step-start', 'error']);
  });

  it('throws a model failure before the first event from the first next(), so a server can answer a status', async () => {
    const failing: Provider = () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new TypeError('no key')) }),
    });
    await expect(collect(runAgent({ provider: failing, model: 'm', messages: [] }))).rejects.toThrow('no key');
  });
});
