/**
 * Issue 4, must-show 4: real third-party clients accept our output. The `openai` SDK (streaming,
 * non-streaming, and its `chat.completions.stream()` helper) against `/v1/chat/completions`; the
 * `ai` package's `DefaultChatTransport` + `readUIMessageStream` against `/api/chat`;
 * `@ag-ui/client`'s `HttpAgent` against `/v1/ag-ui`. The app serves the local demo model, unpaced.
 */
import { HttpAgent } from '@ag-ui/client';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let server: TestServer;

beforeAll(async () => {
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
  server = await startServer(createApp({ models }));
});

afterAll(async () => {
  await server.close();
});

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Get the current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('openai SDK against /v1/chat/completions', () => {
  const client = (): OpenAI => new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1`, maxRetries: 0 });

  it('streams chunks the SDK reads, with usage when asked', async () => {
    const stream = await client().chat.completions.create({
      model: 'local',
      messages: [{ role: 'user', content: 'What is backpressure?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(10);
    expect(text).toMatch(/backpressure/i);
    expect(text).toContain('local demo model');
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('answers a non-streaming completion with the same text', async () => {
    const completion = await client().chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'What is backpressure?' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toMatch(/backpressure/i);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('works with the chat.completions.stream() helper, and forwards the client’s tools and streams the calls back', async () => {
    const runner = client().chat.completions.stream({
      model: 'local',
      messages: [{ role: 'user', content: 'Use get_weather: what is the weather in Paris?' }],
      tools: [weatherTool],
    });
    const deltas: string[] = [];
    runner.on('tool_calls.function.arguments.delta', (event) => deltas.push(event.arguments_delta));
    const completion = await runner.finalChatCompletion();
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: expect.stringMatching(/paris/i) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(call.function.arguments);
  });

  it('answers an unknown model with a 400 the SDK raises as BadRequestError', async () => {
    await expect(client().chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 400,
      error: { code: 'unknown_model' },
    });
  });

  it('lists models', async () => {
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toContain('local');
  });
});

describe('ai DefaultChatTransport + readUIMessageStream against /api/chat', () => {
  it('rebuilds the assistant message: reasoning then text', async () => {
    const transport = new DefaultChatTransport<UIMessage>({ api: `${server.url}/api/chat` });
    const messages: UIMessage[] = [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'What is backpressure?' }] }];
    const stream = await transport.sendMessages({ trigger: 'submit-message', chatId: 'chat-1', messageId: undefined, messages, abortSignal: undefined });
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) last = message;
    expect(last?.role).toBe('assistant');
    const text = last?.parts.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text).join('');
    const reasoning = last?.parts.find((p) => p.type === 'reasoning') as { text: string; state?: string } | undefined;
    expect(text).toMatch(/backpressure/i);
    expect(reasoning?.text.length).toBeGreaterThan(0);
    expect(reasoning?.state).toBe('done');
  });
});

describe('@ag-ui/client HttpAgent against /v1/ag-ui', () => {
  it('runs the agent and ends with the assistant’s message', async () => {
    const agent = new HttpAgent({
      url: `${server.url}/v1/ag-ui`,
      threadId: 'thread-1',
      initialMessages: [{ id: 'u1', role: 'user', content: 'What is backpressure?' }],
    });
    const types: string[] = [];
    const result = await agent.runAgent({ runId: 'run-1' }, { onEvent: ({ event }) => void types.push(event.type) });
    expect(types[0]).toBe('RUN_STARTED');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    expect(types).toContain('TEXT_MESSAGE_CONTENT');
    // The agent searches the docs first (one assistant message with the tool call), then answers.
    const said = result.newMessages.filter((m) => m.role === 'assistant').map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
    expect(said).toMatch(/backpressure/i);
  });
});
