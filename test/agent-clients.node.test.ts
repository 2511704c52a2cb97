/**
 * Real clients see the agent's trace: the `ai` package's `DefaultChatTransport` +
 * `readUIMessageStream` on `/api/chat`, `@ag-ui/client`'s `HttpAgent` on `/v1/ag-ui` (every event
 * checked by @ag-ui/core's schemas) and sluice's own SSE parser on `/v1/chat` rebuild the tool
 * calls, sources, progress and answers of the built-in tools run by the local model, unpaced. Tools
 * a client declares itself are offered to the model and their calls streamed back, the run ending
 * with finish reason `tool-calls`.
 */
import { HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { EventSchema } from '@ag-ui/core/schemas';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBuiltinTools } from '../src/agent/index.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { ChatRequest, Provider } from '../src/providers/types.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createParser } from '../src/sse/parse.ts';
import type { SseEvent } from '../src/sse/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let server: TestServer;

beforeAll(async () => {
  vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '0');
  vi.stubEnv('SLUICE_LOCAL_TPS', '0');
  server = await startServer(createApp({ tools: createBuiltinTools({ paceMs: 0 }) }));
});

afterAll(async () => {
  await server.close();
  vi.unstubAllEnvs();
});

let chats = 0;

/** The last UIMessage `readUIMessageStream` builds for one question on `/api/chat` (a new chat each time). */
async function askUi(url: string, question: string): Promise<UIMessage> {
  const transport = new DefaultChatTransport<UIMessage>({ api: `${url}/api/chat` });
  const messages: UIMessage[] = [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: question }] }];
  const stream = await transport.sendMessages({ trigger: 'submit-message', chatId: `chat-${++chats}`, messageId: undefined, messages, abortSignal: undefined });
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream, terminateOnError: true })) last = message;
  if (last === undefined) throw new Error(`no message for ${JSON.stringify(question)}`);
  return last;
}

type Part = UIMessage['parts'][number];
interface ToolPart {
  type: string;
  toolCallId: string;
  state: string;
  input?: unknown;
  output?: unknown;
}

function toolParts(message: UIMessage, name: string): ToolPart[] {
  return message.parts.filter((part) => part.type === `tool-${name}`) as unknown as ToolPart[];
}

function textOf(message: UIMessage): string {
  return message.parts
    .filter((part): part is Extract<Part, { type: 'text' }> => part.type === 'text')
    .map((part) => part.text)
    .join('');
}

/** POSTs to `/v1/chat` and parses the SSE answer with sluice's own parser. */
async function askNative(url: string, body: unknown): Promise<SseEvent[]> {
  const response = await fetch(`${url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  return events;
}

/** Runs an `HttpAgent` on `/v1/ag-ui`, checking each event against @ag-ui/core's schema. */
async function runAgUi(url: string, question: string, tools: { name: string; description: string; parameters: unknown }[] = []) {
  const agent = new HttpAgent({ url: `${url}/v1/ag-ui`, threadId: 'thread-tools', initialMessages: [{ id: 'u1', role: 'user', content: question }] });
  const events: BaseEvent[] = [];
  const result = await agent.runAgent({ runId: `run-${question.length}`, tools }, { onEvent: ({ event }) => void events.push(event) });
  for (const event of events) {
    const parsed = EventSchema.safeParse(event);
    if (!parsed.success) throw new Error(`@ag-ui/core rejects ${JSON.stringify(event)}: ${parsed.error.message}`);
  }
  return { events, result };
}

type AgEvent = BaseEvent & { toolCallId?: string; toolCallName?: string; name?: string; value?: Record<string, unknown>; content?: string; delta?: string; outcome?: unknown };

describe('ai DefaultChatTransport + readUIMessageStream on /api/chat: the agent’s tool trace', () => {
  it('search_docs: a tool part with its output, then a source-document part per hit', async () => {
    const message = await askUi(server.url, 'Search the docs for backpressure');
    const [call, ...more] = toolParts(message, 'search_docs');
    expect(more).toEqual([]);
    expect(call).toMatchObject({ state: 'output-available', input: { query: expect.stringMatching(/backpressure/i) } });
    const output = call!.output as { hits: { id: string; title: string }[] };
    expect(output.hits.length).toBeGreaterThan(0);
    // The bundled docs have no URLs, so each hit is a source-document (a URL would make a source-url).
    const sources = message.parts.filter((part) => part.type === 'source-document' || part.type === 'source-url') as { type: string; sourceId: string; title?: string }[];
    expect(sources.map((source) => source.sourceId)).toEqual(output.hits.map((hit) => hit.id));
    expect(sources[0]).toMatchObject({ type: 'source-document', title: output.hits[0]!.title });
    const callAt = message.parts.indexOf(call as unknown as Part);
    expect(message.parts.indexOf(sources[0] as unknown as Part)).toBeGreaterThan(callAt);
    expect(textOf(message)).toMatch(/backpressure/i);
  });

  it('calculator: a tool part whose output holds 391, and text with 391', async () => {
    const message = await askUi(server.url, 'What is 17*23?');
    const [call] = toolParts(message, 'calculator');
    expect(call).toMatchObject({ state: 'output-available', input: { expression: '17*23' }, output: { value: '391' } });
    const answerAfterCall = message.parts.slice(message.parts.indexOf(call as unknown as Part) + 1);
    expect(answerAfterCall.filter((part) => part.type === 'text').map((part) => (part as { text: string }).text).join('')).toContain('391');
  });

  it('analyze_data: a data-progress part (reconciled by the call’s id) at its total, and data parts of the statistics', async () => {
    const message = await askUi(server.url, 'Analyze the sales data');
    const [call] = toolParts(message, 'analyze_data');
    expect(call?.state).toBe('output-available');
    const progress = message.parts.filter((part) => part.type === 'data-progress') as { id?: string; data: { done: number; total: number } }[];
    // One part per tool call: each progress chunk replaces the last, so the client shows the latest.
    expect(progress).toHaveLength(1);
    expect(progress[0]!.id).toBe(call!.toolCallId);
    expect(progress[0]!.data.total).toBeGreaterThan(0);
    expect(progress[0]!.data.done).toBe(progress[0]!.data.total);
    expect(message.parts.some((part) => part.type === 'data-revenueByRegion')).toBe(true);
    expect(textOf(message).length).toBeGreaterThan(0);
  });

  it('a failing tool (1/0): the calculator part in state output-error with its message, then the answer', async () => {
    const message = await askUi(server.url, 'What is 1/0?');
    const [call] = toolParts(message, 'calculator') as (ToolPart & { errorText?: string })[];
    expect(call).toMatchObject({ state: 'output-error', errorText: expect.stringMatching(/zero/i) });
    const after = message.parts.slice(message.parts.indexOf(call as unknown as Part) + 1);
    expect(after.some((part) => part.type === 'text')).toBe(true);
  });

  it('generate_report: one data-report-section part per finished section, none replaced by the next', async () => {
    const message = await askUi(server.url, 'Write a report on resume');
    const [call] = toolParts(message, 'generate_report');
    expect(call?.state).toBe('output-available');
    const output = call!.output as { sections: { title: string }[] };
    expect(output.sections.length).toBeGreaterThan(1);
    const sections = message.parts.filter((part) => part.type === 'data-report-section') as { id?: string; data: { title: string } }[];
    expect(sections.map((part) => part.data.title)).toEqual(output.sections.map((section) => section.title));
    expect(new Set(sections.map((part) => part.id)).size).toBe(sections.length);
    const progress = message.parts.filter((part) => part.type === 'data-progress') as { data: { done: number; total: number } }[];
    expect(progress).toHaveLength(1);
    expect(progress[0]!.data.done).toBe(progress[0]!.data.total);
  });
});

describe('@ag-ui/client HttpAgent on /v1/ag-ui: the agent’s tool trace', () => {
  it('search_docs: TOOL_CALL_START, ARGS, END, then CUSTOM sources, TOOL_CALL_RESULT, the answer and RUN_FINISHED', async () => {
    const { events, result } = await runAgUi(server.url, 'Search the docs for backpressure');
    const all = events as AgEvent[];
    const start = all.find((event) => event.type === EventType.TOOL_CALL_START);
    expect(start?.toolCallName).toBe('search_docs');
    const id = start!.toolCallId;
    const ofCall = all.filter((event) => event.toolCallId === id).map((event) => event.type);
    expect(ofCall[0]).toBe(EventType.TOOL_CALL_START);
    expect(ofCall.slice(1, -2).every((type) => type === EventType.TOOL_CALL_ARGS)).toBe(true);
    expect(ofCall.length).toBeGreaterThan(3);
    expect(ofCall.slice(-2)).toEqual([EventType.TOOL_CALL_END, EventType.TOOL_CALL_RESULT]);
    const args = all.filter((event) => event.type === EventType.TOOL_CALL_ARGS && event.toolCallId === id).map((event) => event.delta).join('');
    expect(JSON.parse(args)).toMatchObject({ query: expect.stringMatching(/backpressure/i) });

    const at = (predicate: (event: AgEvent) => boolean): number => all.findIndex(predicate);
    const end = at((event) => event.type === EventType.TOOL_CALL_END);
    const sources = all.filter((event) => event.type === EventType.CUSTOM && event.name === 'source');
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.every((event) => event.value?.toolCallId === id)).toBe(true);
    const firstSource = all.indexOf(sources[0]!);
    const resultAt = at((event) => event.type === EventType.TOOL_CALL_RESULT);
    expect(end).toBeLessThan(firstSource);
    expect(all.lastIndexOf(sources.at(-1)!)).toBeLessThan(resultAt);
    const output = JSON.parse(all[resultAt]!.content!) as { hits: { id: string }[] };
    expect(sources.map((event) => event.value?.id)).toEqual(output.hits.map((hit) => hit.id));
    expect(all.findLastIndex((event) => event.type === EventType.TEXT_MESSAGE_CONTENT)).toBeGreaterThan(resultAt);
    expect(all.at(-1)?.type).toBe(EventType.RUN_FINISHED);

    // The client keeps the call on the assistant message and the result as a tool message.
    const withCall = result.newMessages.find((m) => m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0);
    expect(withCall?.role === 'assistant' ? withCall.toolCalls?.[0]?.function.name : undefined).toBe('search_docs');
    expect(result.newMessages.some((m) => m.role === 'tool' && m.toolCallId === id)).toBe(true);
  });

  it('analyze_data: CUSTOM progress events rising to their total between the call’s END and its RESULT', async () => {
    const { events } = await runAgUi(server.url, 'Analyze the sales data');
    const all = events as AgEvent[];
    const id = all.find((event) => event.type === EventType.TOOL_CALL_START)!.toolCallId;
    const progress = all.filter((event) => event.type === EventType.CUSTOM && event.name === 'progress');
    const done = progress.map((event) => event.value!.done as number);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((event) => event.value!.toolCallId === id)).toBe(true);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.at(-1)).toBe(progress.at(-1)!.value!.total);
    expect(all.indexOf(progress[0]!)).toBeGreaterThan(all.findIndex((event) => event.type === EventType.TOOL_CALL_END));
    expect(all.indexOf(progress.at(-1)!)).toBeLessThan(all.findIndex((event) => event.type === EventType.TOOL_CALL_RESULT));
    expect(all.some((event) => event.type === EventType.CUSTOM && event.name === 'revenueByRegion')).toBe(true);
    expect(all.at(-1)?.type).toBe(EventType.RUN_FINISHED);
  });
});

describe('sluice’s own SSE parser on /v1/chat: the agent’s tool trace', () => {
  it('tool-call, then each source, then tool-result, then the answer’s text; ids 1, 2, 3 … without a gap', async () => {
    const events = await askNative(server.url, { messages: [{ role: 'user', content: 'Search the docs for backpressure' }] });
    expect(events.map((event) => event.id)).toEqual(events.map((_, i) => String(i + 1)));
    const parsed = events.map((event) => ({ name: event.event, ...(JSON.parse(event.data) as AgentEvent) }));
    expect(parsed.every((event) => event.name === event.type)).toBe(true);
    const types = parsed.map((event) => event.type);
    const call = types.indexOf('tool-call');
    const sources = types.flatMap((type, i) => (type === 'source' ? [i] : []));
    const result = types.indexOf('tool-result');
    expect(call).toBeGreaterThan(-1);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources[0]).toBeGreaterThan(call);
    expect(sources.at(-1)).toBeLessThan(result);
    const answer = parsed.slice(result + 1).filter((event) => event.type === 'text-delta');
    expect(answer.length).toBeGreaterThan(0);
    expect(answer.map((event) => (event.type === 'text-delta' ? event.delta : '')).join('')).toMatch(/backpressure/i);
    expect(types.at(-1)).toBe('finish');
  });
});

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

describe('tools a client declares: offered to the model, their calls streamed back, the run ends with tool-calls', () => {
  it('/v1/chat `tools`: the local model calls get_weather for “What is the weather in Paris?”; the call streams back and the run finishes with tool-calls', async () => {
    const events = await askNative(server.url, {
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [{ name: 'get_weather', description: 'Get the current weather for a city', inputSchema: weatherSchema }],
    });
    const parsed = events.map((event) => JSON.parse(event.data) as AgentEvent);
    const call = parsed.find((event) => event.type === 'tool-call');
    expect(call).toMatchObject({ toolName: 'get_weather', input: { city: expect.stringMatching(/paris/i) } });
    // The client runs it: no result from the server, and the run stops there.
    expect(parsed.some((event) => event.type === 'tool-result' || event.type === 'tool-error')).toBe(false);
    expect(parsed.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
  });

  it('AG-UI frontend tool: the call streams back and RUN_FINISHED lists it as pending for the client', async () => {
    const { events, result } = await runAgUi(server.url, 'What is the weather in Paris?', [
      { name: 'get_weather', description: 'Get the current weather for a city', parameters: weatherSchema },
    ]);
    const all = events as AgEvent[];
    const start = all.find((event) => event.type === EventType.TOOL_CALL_START);
    expect(start?.toolCallName).toBe('get_weather');
    expect(all.some((event) => event.type === EventType.TOOL_CALL_RESULT)).toBe(false);
    const finished = all.at(-1)!;
    expect(finished.type).toBe(EventType.RUN_FINISHED);
    expect(finished.outcome).toEqual({ type: 'success', pendingToolCallIds: [start!.toolCallId] });
    const assistant = result.newMessages.find((m) => m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0);
    const args = assistant?.role === 'assistant' ? assistant.toolCalls?.[0]?.function.arguments : undefined;
    expect(JSON.parse(args ?? '{}')).toEqual({ city: expect.stringMatching(/paris/i) });
  });

  it('AG-UI frontend tool, round trip: the client answers the pending call and the next run answers from its result', async () => {
    const tools = [{ name: 'get_weather', description: 'Get the current weather for a city', parameters: weatherSchema }];
    const agent = new HttpAgent({ url: `${server.url}/v1/ag-ui`, threadId: 'thread-weather', initialMessages: [{ id: 'u1', role: 'user', content: 'What is the weather in Paris?' }] });
    const first = await agent.runAgent({ runId: 'run-weather-1', tools });
    const call = first.newMessages.flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []) : []))[0];
    expect(call?.function.name).toBe('get_weather');
    // The client runs its tool and sends the result back with the conversation so far.
    agent.addMessage({ id: 'tool-1', role: 'tool', toolCallId: call!.id, content: JSON.stringify({ city: 'Paris', celsius: 18, sky: 'sunny' }) });
    const events: BaseEvent[] = [];
    const second = await agent.runAgent({ runId: 'run-weather-2', tools }, { onEvent: ({ event }) => void events.push(event) });
    for (const event of events) expect(EventSchema.safeParse(event).success).toBe(true);
    expect(events.some((event) => event.type === EventType.TOOL_CALL_START)).toBe(false);
    expect((events.at(-1) as AgEvent).outcome).toEqual({ type: 'success' });
    const answer = second.newMessages.filter((m) => m.role === 'assistant').map((m) => (typeof m.content === 'string' ? m.content : '')).join('');
    expect(answer).toContain('18');
  });

  it('/v1/chat `tools`, round trip: the client copies the tool-call event into an assistant message, answers it in a `tool` message, and the next run answers from its result', async () => {
    const tools = [{ name: 'get_weather', description: 'Get the current weather for a city', inputSchema: weatherSchema }];
    const question = { role: 'user', content: 'What is the weather in Paris?' };
    const first = (await askNative(server.url, { messages: [question], tools })).map((event) => JSON.parse(event.data) as AgentEvent);
    const call = first.find((event) => event.type === 'tool-call');
    expect(call).toMatchObject({ toolName: 'get_weather', input: { city: expect.stringMatching(/paris/i) } });
    expect(first.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
    // The client runs its tool, then sends the conversation back: the `tool-call` event as it came, and its result.
    const result = { type: 'tool-result', toolCallId: call!.type === 'tool-call' ? call!.toolCallId : '', toolName: 'get_weather', output: { city: 'Paris', celsius: 18, sky: 'sunny' } };
    const events = await askNative(server.url, { messages: [question, { role: 'assistant', content: [call] }, { role: 'tool', content: [result] }], tools });
    expect(events.map((event) => event.id)).toEqual(events.map((_, i) => String(i + 1)));
    const second = events.map((event) => JSON.parse(event.data) as AgentEvent);
    expect(second.some((event) => event.type.startsWith('tool-'))).toBe(false);
    const answer = second.map((event) => (event.type === 'text-delta' ? event.delta : '')).join('');
    expect(answer).toContain('18');
    expect(second.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('a model that asks for the client’s tool (fake provider): offered next to the built-ins, streamed back, finish reason tool-calls', async () => {
    const offered: ChatRequest[] = [];
    const fakeProvider: Provider = async function* (request) {
      offered.push(request);
      yield { type: 'step-start', step: 1 } as AgentEvent;
      yield { type: 'tool-call-start', toolCallId: 'call_1', toolName: 'open_modal' };
      yield { type: 'tool-call-delta', toolCallId: 'call_1', delta: '{"title":' };
      yield { type: 'tool-call-delta', toolCallId: 'call_1', delta: '"Hello"}' };
      yield { type: 'tool-call', toolCallId: 'call_1', toolName: 'open_modal', input: { title: 'Hello' } };
      yield { type: 'finish', finishReason: 'tool-calls' };
    };
    const models = createModelRegistry({ env: {}, providers: { local: fakeProvider } });
    const fake = await startServer(createApp({ models, tools: createBuiltinTools({ paceMs: 0 }) }));
    try {
      const tools = [{ name: 'open_modal', description: 'Opens a modal in the page', inputSchema: { type: 'object', properties: { title: { type: 'string' } } } }];
      const events = await askNative(fake.url, { messages: [{ role: 'user', content: 'Say hello in a modal' }], tools });
      expect(offered).toHaveLength(1);
      expect(offered[0]!.tools?.map((tool) => tool.name)).toEqual(expect.arrayContaining(['open_modal', 'search_docs', 'calculator']));
      const parsed = events.map((event) => JSON.parse(event.data) as AgentEvent);
      const types = parsed.map((event) => event.type);
      expect(types.filter((type) => type.startsWith('tool-'))).toEqual(['tool-call-start', 'tool-call-delta', 'tool-call-delta', 'tool-call']);
      expect(parsed.find((event) => event.type === 'tool-call')).toMatchObject({ toolCallId: 'call_1', toolName: 'open_modal', input: { title: 'Hello' } });
      expect(parsed.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
      expect(events.map((event) => event.id)).toEqual(events.map((_, i) => String(i + 1)));
    } finally {
      await fake.close();
    }
  });
});

describe('/v1/chat messages with parts: a conversation the providers could not take is a 400 that says why', () => {
  const call = { type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } };
  const result = { type: 'tool-result', toolCallId: 'call_1', toolName: 'get_weather', output: { celsius: 18 } };
  const question = { role: 'user', content: 'What is the weather in Paris?' };
  const asked = { role: 'assistant', content: [call] };
  const cases: [string, unknown[], string][] = [
    ['a tool-result no earlier tool-call has', [question, asked, { role: 'tool', content: [{ ...result, toolCallId: 'call_9' }] }], 'Invalid `messages.2.content.0.toolCallId`: no earlier assistant tool-call has the id "call_9".'],
    ['a tool-result before any call', [question, { role: 'tool', content: [result] }], 'Invalid `messages.1.content.0.toolCallId`: no earlier assistant tool-call has the id "call_1".'],
    ['a second tool-result for one call', [question, asked, { role: 'tool', content: [result] }, { role: 'tool', content: [result] }], 'Invalid `messages.3.content.0.toolCallId`: the tool-call "call_1" already has a tool-result.'],
    ['a tool-result naming another tool than its call', [question, asked, { role: 'tool', content: [{ ...result, toolName: 'get_time' }] }], 'Invalid `messages.2.content.0.toolName`: the tool-call "call_1" is to "get_weather", not "get_time".'],
    ['a tool-call with no result before the next user message', [question, asked, question], 'Invalid `messages.1.content.0`: the tool-call "call_1" has no tool-result: send its result in a message with role "tool" right after this assistant message.'],
    ['a tool-call with no result at the end', [question, asked], 'Invalid `messages.1.content.0`: the tool-call "call_1" has no tool-result'],
    ['two tool-calls with one id', [question, asked, { role: 'tool', content: [result] }, asked], 'Invalid `messages.3.content.0.toolCallId`: an earlier tool-call already has the id "call_1"; each call needs its own.'],
    ['a tool-call part in a user message', [{ role: 'user', content: [call] }], 'Invalid `messages.0.content.0.type`: a tool-call part cannot be in a user message; it belongs in an assistant message'],
    ['a tool-result part in a user message', [question, asked, { role: 'user', content: [result] }], 'Invalid `messages.2.content.0.type`: a tool-result part cannot be in a user message; it belongs in a message with role "tool"'],
    ['a text part in a tool message', [question, asked, { role: 'tool', content: [result, { type: 'text', text: '18' }] }], 'Invalid `messages.2.content.1.type`: a text part cannot be in a tool message'],
    ['a tool message with a string', [question, asked, { role: 'tool', content: '18' }], 'Invalid `messages.2.content`: a "tool" message takes an array of tool-result parts, not a string.'],
    ['a part of an unknown type', [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/a.png' }] }], 'Invalid `messages.0.content.0.type`: expected `type` to be "text", "reasoning", "tool-call" or "tool-result".'],
    ['a tool-call without input', [question, { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather' }] }], 'Invalid `messages.1.content.0.input`: `input` is required (any JSON value).'],
    ['content that is neither a string nor parts', [{ role: 'user', content: 42 }], 'Invalid `messages.0.content`: expected a string or an array of parts.'],
    ['an empty array of parts', [{ role: 'user', content: [] }], 'Invalid `messages.0.content`: an array of parts needs at least one part.'],
    ['more than 256 parts in a message', [{ role: 'user', content: Array.from({ length: 257 }, () => ({ type: 'text', text: 'a' })) }], 'Invalid `messages.0.content`: Too big: expected array to have <=256 items.'],
    ['a toolCallId over 256 characters', [question, { role: 'assistant', content: [{ ...call, toolCallId: 'c'.repeat(257) }] }], 'Invalid `messages.1.content.0.toolCallId`: Too big: expected string to have <=256 characters.'],
  ];
  it.each(cases)('%s', async (_, messages, message) => {
    const response = await fetch(`${server.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message.slice(0, message.length)).toBe(message);
  });
});
