/**
 * What each provider sends: messages, tool calls and results, tools, tool choice, limits and
 * provider options in the provider's own request shape.
 */
import { afterEach, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAICompatibleProvider, createOpenAIProvider } from '../src/providers/index.ts';
import type { ChatRequest } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayServer } from '../src/providers/replay/index.ts';
import { FIXTURES, collect } from './providers-helpers.ts';

const CONVERSATION: ChatRequest = {
  model: 'm-1',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Weather in Paris?' },
    {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'Need the tool.', signature: 'sig-1' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } },
      ],
    },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'get_weather', output: { c: 18 } }] },
  ],
  tools: [{ name: 'get_weather', description: 'Weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }],
  toolChoice: { toolName: 'get_weather' },
  maxOutputTokens: 100,
  temperature: 0.5,
};

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<ReplayServer> {
  server = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': await readReplayFixture(new URL('openai-chat/', FIXTURES), 'text-basic.sse'),
      'POST /v1/responses': await readReplayFixture(new URL('openai-responses/', FIXTURES), 'text.sse'),
      'POST /v1/messages': await readReplayFixture(new URL('anthropic-messages/', FIXTURES), 'text.sse'),
    },
  });
  return server;
}

it('openai (chat) sends Chat Completions messages, tool calls, tool results, tools and tool_choice', async () => {
  const { url, requests } = await start();
  const events = await collect(createOpenAIProvider({ apiKey: 'k', baseURL: `${url}/v1` })({ ...CONVERSATION, providerOptions: { openai: { seed: 3 } } }));
  expect(events[0]).toMatchObject({ type: 'message-start', model: 'openai:m-1' });
  expect(requests[0]?.json).toEqual({
    seed: 3,
    model: 'm-1',
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"c":18}' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: CONVERSATION.tools![0]!.inputSchema } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    max_completion_tokens: 100,
    temperature: 0.5,
  });
  expect(requests[0]?.headers['authorization']).toBe('Bearer k');
});

it('openai-compatible sends max_tokens, and its key when it has one', async () => {
  const { url, requests } = await start();
  await collect(createOpenAICompatibleProvider({ apiKey: 'dk', baseURL: `${url}/v1` })(CONVERSATION));
  expect(requests[0]?.json).toMatchObject({ max_tokens: 100 });
  expect(requests[0]?.json).not.toHaveProperty('max_completion_tokens');
  expect(requests[0]?.headers['authorization']).toBe('Bearer dk');
});

it('openai (responses, chosen per call) sends input items with function_call and function_call_output', async () => {
  const { url, requests } = await start();
  const provider = createOpenAIProvider({ apiKey: 'k', baseURL: `${url}/v1` });
  await collect(provider({ ...CONVERSATION, providerOptions: { openai: { api: 'responses', reasoning: { summary: 'auto' } } } }));
  expect(requests[0]?.path).toBe('/v1/responses');
  expect(requests[0]?.json).toEqual({
    reasoning: { summary: 'auto' },
    model: 'm-1',
    stream: true,
    input: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: 'Checking.' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '{"c":18}' },
    ],
    tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: CONVERSATION.tools![0]!.inputSchema, strict: false }],
    tool_choice: { type: 'function', name: 'get_weather' },
    max_output_tokens: 100,
    temperature: 0.5,
  });
});

it('anthropic sends system, thinking with its signature, tool_use, tool_result, tools and thinking options', async () => {
  const { url, requests } = await start();
  const events = await collect(
    createAnthropicProvider({ apiKey: 'ak', baseURL: url })({
      ...CONVERSATION,
      providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 1024 } } },
    }),
  );
  expect(events[0]).toMatchObject({ type: 'message-start', model: 'anthropic:m-1', messageId: expect.stringMatching(/^msg_/) });
  // The SDK sends the key as `x-api-key` or, in recent versions, as a Bearer token.
  const { authorization, 'x-api-key': apiKey } = requests[0]!.headers;
  expect(apiKey === 'ak' || authorization === 'Bearer ak').toBe(true);
  expect(requests[0]?.json).toEqual({
    thinking: { type: 'enabled', budget_tokens: 1024 },
    model: 'm-1',
    max_tokens: 1124,
    stream: true,
    system: 'Be brief.',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Need the tool.', signature: 'sig-1' },
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '{"c":18}' }] },
    ],
    tools: [{ name: 'get_weather', description: 'Weather', input_schema: CONVERSATION.tools![0]!.inputSchema }],
    tool_choice: { type: 'tool', name: 'get_weather' },
    temperature: 0.5,
  });
});
