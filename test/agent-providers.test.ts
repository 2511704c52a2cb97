/**
 * Two-step conversations through the real SDKs against the replay server: the model asks for a
 * tool, the loop runs it, and the second upstream request carries the result in the provider's own
 * format. Also: one step's tool calls run in parallel, and an abort closes the upstream request.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { runAgent, tool } from '../src/agent/index.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createAnthropicProvider, createOpenAIProvider } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayServer } from '../src/providers/replay/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer } from './helpers/http.ts';
import { agentEvents, readEvents } from './helpers/sse-events.ts';
import { collect, FIXTURES, within } from './providers-helpers.ts';

const fixture = (folder: string, file: string) => readReplayFixture(new URL(`${folder}/`, FIXTURES), file);

/** The tool the recordings call: `get_weather {city, unit}`. */
function weatherTool(onRun?: (city: string) => Promise<void>) {
  return tool({
    name: 'get_weather',
    description: 'The weather in a city.',
    input: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']).optional() }),
    async *execute({ city, unit }) {
      yield { type: 'progress', done: 0, total: 1, message: `asking about ${city}` };
      await onRun?.(city);
      return { city, unit: unit ?? 'celsius', temperature: 21 };
    },
  });
}

let server: ReplayServer;
beforeAll(async () => {
  const single = await fixture('openai-chat', 'tool-call-single.sse');
  const parallel = await fixture('openai-chat', 'tool-calls-parallel-sequential.sse');
  const text = await fixture('openai-chat', 'text-basic.sse');
  const anthropicTool = await fixture('anthropic-messages', 'tool-use.sse');
  const anthropicText = await fixture('anthropic-messages', 'text.sse');
  server = await createReplayServer({
    routes: {
      // The test's name picks the recording of the first step; every second step answers with text.
      'POST /single/chat/completions': (request) => (JSON.stringify(request.json).includes('"role":"tool"') ? text : single),
      'POST /parallel/chat/completions': (request) => (JSON.stringify(request.json).includes('"role":"tool"') ? text : parallel),
      'POST /slow/chat/completions': (request) =>
        JSON.stringify(request.json).includes('"role":"tool"') ? { ...text, chunkDelayMs: 100 } : single,
      'POST /v1/messages': (request) => (JSON.stringify(request.json).includes('"tool_result"') ? anthropicText : anthropicTool),
    },
  });
});
afterAll(async () => {
  await server.close();
});

const openai = (path: string) => createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/${path}` });
const QUESTION = [{ role: 'user' as const, content: 'What is the weather in Osaka?' }];

describe('runAgent with the real SDKs', () => {
  it('OpenAI Chat: runs the tool and sends the result back as a `tool` message with tool_call_id', async () => {
    const before = server.requests.length;
    const events = await collect(runAgent({ provider: openai('single'), model: 'gpt-4.1-mini', messages: QUESTION, tools: [weatherTool()] }));
    const [first, second] = server.requests.slice(before);
    expect(first?.json).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] });
    const messages = (second?.json as { messages: unknown[] }).messages;
    expect(messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_L7FmKbnsvsxtRAD97k4iu8Fz', type: 'function', function: { name: 'get_weather', arguments: '{"city":"大阪","unit":"celsius"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_L7FmKbnsvsxtRAD97k4iu8Fz', content: '{"city":"大阪","unit":"celsius","temperature":21}' },
    ]);
    expect(events.find((e) => e.type === 'tool-result')).toEqual({
      type: 'tool-result',
      toolCallId: 'call_L7FmKbnsvsxtRAD97k4iu8Fz',
      toolName: 'get_weather',
      output: { city: '大阪', unit: 'celsius', temperature: 21 },
    });
    const text = events.flatMap((e) => (e.type === 'text-delta' ? [e.delta] : [])).join('');
    expect(text).toContain('长城');
    expect(events.filter((e) => e.type === 'step-finish')).toEqual([
      { type: 'step-finish', step: 1, finishReason: 'tool-calls' },
      { type: 'step-finish', step: 2, finishReason: 'stop' },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('Anthropic: runs the tool and sends the result back as a tool_result block after the tool_use', async () => {
    const before = server.requests.length;
    const anthropic = createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url });
    const events = await collect(runAgent({ provider: anthropic, model: 'claude-haiku-4-5', messages: QUESTION, tools: [weatherTool()] }));
    const second = server.requests.slice(before)[1];
    const messages = (second?.json as { messages: unknown[] }).messages;
    expect(messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: '東京の天気を確認しますね。☀️' },
          { type: 'tool_use', id: 'toolu_013GpsZPiU9AZFUo5237cW9d', name: 'get_weather', input: { city: '東京', unit: 'celsius' } },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_013GpsZPiU9AZFUo5237cW9d', content: '{"city":"東京","unit":"celsius","temperature":21}' }],
      },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('runs the tool calls of one step in parallel: both start before either finishes', async () => {
    const started: string[] = [];
    let bothStarted!: () => void;
    const together = new Promise<void>((resolve) => {
      bothStarted = resolve;
    });
    const onRun = async (city: string) => {
      started.push(city);
      if (started.length === 2) bothStarted();
      // Run one after the other, and this wait fails the first call.
      await within(together, 2000, 'the other call did not start while this one ran');
    };
    const events = await collect(runAgent({ provider: openai('parallel'), model: 'gpt-4o', messages: QUESTION, tools: [weatherTool(onRun)] }));
    expect(events.filter((e) => e.type === 'tool-error')).toEqual([]);
    expect(events.filter((e) => e.type === 'tool-result').map((e) => (e as Extract<AgentEvent, { type: 'tool-result' }>).toolCallId).sort()).toEqual([
      'call_9dQtoUayfX21slL67VkIQF55',
      'call_fvNXPMYN2c5Kw8jczj1I7qZK',
    ]);
    expect(started).toHaveLength(2);
  });

  it('aborting mid-tool aborts the tool and closes the upstream request; no further request is made', async () => {
    const before = server.requests.length;
    const controller = new AbortController();
    let toolSignal: AbortSignal | undefined;
    let cleaned = false;
    const hanging = tool({
      name: 'get_weather',
      description: 'Hangs.',
      input: z.object({ city: z.string() }).loose(),
      async *execute(_input, { signal }) {
        toolSignal = signal;
        try {
          yield { type: 'progress', done: 0, total: 1 };
          await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        } finally {
          cleaned = true;
        }
      },
    });
    const events: AgentEvent[] = [];
    for await (const event of runAgent({ provider: openai('single'), model: 'gpt-4.1-mini', messages: QUESTION, tools: [hanging], signal: controller.signal })) {
      events.push(event);
      if (event.type === 'progress') controller.abort(new DOMException('Stopped.', 'AbortError'));
    }
    expect(events.at(-1)).toEqual({ type: 'abort', reason: 'Stopped.' });
    expect(toolSignal?.aborted).toBe(true);
    await vi.waitFor(() => expect(cleaned, 'the tool’s finally never ran').toBe(true), { timeout: 1000 });
    const upstream = server.requests.slice(before);
    expect(upstream).toHaveLength(1);
    await within(upstream[0]!.closed, 1000, 'the upstream connection stayed open');
  });

  it('aborting during the second model call closes that upstream connection mid-response', async () => {
    const before = server.requests.length;
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    for await (const event of runAgent({ provider: openai('slow'), model: 'gpt-4.1-mini', messages: QUESTION, tools: [weatherTool()], signal: controller.signal })) {
      events.push(event);
      if (event.type === 'text-delta') controller.abort(new DOMException('Stopped.', 'AbortError'));
    }
    expect(events.at(-1)).toEqual({ type: 'abort', reason: 'Stopped.' });
    const second = server.requests.slice(before)[1];
    await within(second!.closed, 1000, 'the second upstream connection stayed open');
    expect(second!.aborted).toBe(true);
  });
});

describe('a client’s own tool on POST /v1/chat: the call and result it sends back reach the provider in the provider’s shape', () => {
  const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
  const call = (toolCallId: string, city: string) => ({ type: 'tool-call', toolCallId, toolName: 'get_weather', input: { city } });

  /** POSTs `body` to `/v1/chat` of an app whose `openai:` and `anthropic:` models are the replay server; the upstream requests and the answer's events. */
  async function chat(body: unknown) {
    const models = createModelRegistry({
      env: {},
      providers: { openai: openai('single'), anthropic: createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url }) },
    });
    const app = await startServer(createApp({ models, env: {} }));
    try {
      const before = server.requests.length;
      const response = await fetch(`${app.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      const events = agentEvents((await readEvents(response)).events);
      return { upstream: server.requests.slice(before), events };
    } finally {
      await app.close();
    }
  }

  it('OpenAI Chat: the tool-call part becomes the assistant’s tool_calls, the tool-result part a `tool` message with its tool_call_id', async () => {
    const { upstream, events } = await chat({
      model: 'openai:gpt-4.1-mini',
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, call('call_1', 'Paris')] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'get_weather', output: { city: 'Paris', celsius: 18 } }] },
      ],
      tools: [{ name: 'get_weather', description: 'Get the current weather for a city', inputSchema: weatherSchema }],
    });
    expect(upstream).toHaveLength(1);
    const sent = upstream[0]!.json as { messages: unknown[]; tools: { function: { name: string } }[] };
    expect(sent.messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"city":"Paris","celsius":18}' },
    ]);
    expect(sent.tools.map((tool) => tool.function.name)).toContain('get_weather');
    expect(events.filter((e) => e.type.startsWith('tool-'))).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', data: { finishReason: 'stop' } });
  });

  it('Anthropic: the tool-call parts become tool_use blocks, the tool-result parts tool_result blocks of a user message (is_error kept), reasoning with its signature a thinking block', async () => {
    const { upstream, events } = await chat({
      model: 'anthropic:claude-haiku-4-5',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and in Atlantis?' }] },
        { role: 'assistant', content: [{ type: 'reasoning', text: 'Two cities.', signature: 'sig-1' }, call('toolu_1', 'Paris'), call('toolu_2', 'Atlantis')] },
        {
          role: 'tool',
          content: [
            { type: 'tool-result', toolCallId: 'toolu_1', toolName: 'get_weather', output: { celsius: 18 } },
            { type: 'tool-result', toolCallId: 'toolu_2', toolName: 'get_weather', output: 'unknown city: Atlantis', isError: true },
          ],
        },
      ],
      tools: [{ name: 'get_weather', inputSchema: weatherSchema }],
    });
    expect(upstream).toHaveLength(1);
    const sent = upstream[0]!.json as { system: unknown; messages: unknown[] };
    expect(sent.system).toBe('Be brief.');
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and in Atlantis?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Two cities.', signature: 'sig-1' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Atlantis' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"celsius":18}' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'unknown city: Atlantis', is_error: true },
        ],
      },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', data: { finishReason: 'stop' } });
  });
});
