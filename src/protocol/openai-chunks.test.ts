import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { streamingResponse } from '../core/streaming-response.ts';
import {
  ABORT_EVENTS,
  CLIENT_TOOL_EVENTS,
  ERROR_EVENTS,
  REASONING_EVENTS,
  SEQUENCES,
  TEXT_EVENTS,
  TOOL_EVENTS,
  encodeAll,
  eventsThenThrow,
} from './__fixtures__/agent-events.ts';
import { openaiChunks, toOpenAiFinishReason, type OpenAiChunksOptions } from './openai-chunks.ts';
import { toChatCompletion } from './to-chat-completion.ts';
import type { AgentEvent } from './types.ts';

const IDS = { id: 'chatcmpl-1', model: 'local', created: 1_700_000_000 };

/** An OpenAI client whose HTTP calls are answered by `respond`, so the real SDK parses what sluice sends. */
function client(respond: () => Promise<Response>): OpenAI {
  return new OpenAI({ apiKey: 'test', baseURL: 'http://gateway.test/v1', maxRetries: 0, fetch: async () => respond() });
}

function streamed(source: Iterable<AgentEvent> | AsyncIterable<AgentEvent>, options: Partial<OpenAiChunksOptions> = {}): OpenAI {
  return client(() => streamingResponse(source, { format: openaiChunks({ ...IDS, ...options }) }));
}

async function chunksOf(openai: OpenAI): Promise<OpenAI.Chat.Completions.ChatCompletionChunk[]> {
  const stream = await openai.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'hi' }], stream: true });
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('openaiChunks', () => {
  it('writes the role chunk first, then content deltas, then finish_reason and [DONE]', () => {
    const blocks = encodeAll(openaiChunks(IDS), TEXT_EVENTS).split('\n\n').filter(Boolean);
    const head = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"local","choices":[{"index":0,"delta":';
    expect(blocks).toEqual([
      `data: ${head}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
      `data: ${head}{"content":"Hello"},"logprobs":null,"finish_reason":null}]}`,
      `data: ${head}{"content":", \\"world\\""},"logprobs":null,"finish_reason":null}]}`,
      `data: ${head}{"content":"\\n数字: 1 🎉"},"logprobs":null,"finish_reason":null}]}`,
      `data: ${head}{},"logprobs":null,"finish_reason":"stop"}]}`,
      'data: [DONE]',
    ]);
  });

  it('gives valid JSON chunks of one completion ID for every sequence', () => {
    for (const events of Object.values(SEQUENCES)) {
      for (const block of encodeAll(openaiChunks(IDS), events).split('\n\n').filter(Boolean)) {
        expect(block.startsWith('data: ')).toBe(true);
        if (block === 'data: [DONE]') continue;
        const chunk = JSON.parse(block.slice(6)) as { id?: string; error?: unknown };
        if (chunk.error === undefined) expect(chunk.id).toBe('chatcmpl-1');
      }
    }
  });

  it('is read by the openai SDK into the same text', async () => {
    const stream = streamed(TEXT_EVENTS).chat.completions.stream({ model: 'local', messages: [{ role: 'user', content: 'hi' }] });
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe('Hello, "world"\n数字: 1 🎉');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.id).toBe('chatcmpl-1');
  });

  it('streams parallel tool calls as indexed fragments the openai SDK reassembles', async () => {
    const chunks = await chunksOf(streamed(CLIENT_TOOL_EVENTS));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toEqual([
      { index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '' } },
      { index: 0, function: { arguments: '{"q":' } },
      { index: 0, function: { arguments: '"sluice"}' } },
      { index: 1, id: 'call_b', type: 'function', function: { name: 'lookup', arguments: '{"q":"whole"}' } },
    ]);
    const completion = await streamed(CLIENT_TOOL_EVENTS)
      .chat.completions.stream({ model: 'local', messages: [{ role: 'user', content: 'hi' }] })
      .finalChatCompletion();
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":"sluice"}' } },
      { id: 'call_b', type: 'function', function: { name: 'lookup', arguments: '{"q":"whole"}' } },
    ]);
  });

  it('interleaves the argument fragments of tool calls streamed in parallel by index', async () => {
    const calls = (await chunksOf(streamed(TOOL_EVENTS))).flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    const argumentsOf = (index: number) => calls.filter((call) => call.index === index).map((call) => call.function?.arguments ?? '').join('');
    expect(argumentsOf(0)).toBe('{"city":"Paris"}');
    expect(argumentsOf(1)).toBe('{"zone":"Europe/Paris"}');
  });

  it('sends a usage chunk with no choices only when asked for', async () => {
    const without = await chunksOf(streamed(CLIENT_TOOL_EVENTS));
    expect(without.some((chunk) => chunk.usage)).toBe(false);
    const withUsage = await chunksOf(streamed(CLIENT_TOOL_EVENTS, { includeUsage: true }));
    expect(withUsage.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 34,
        total_tokens: 46,
        prompt_tokens_details: { cached_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 5 },
      },
    });
  });

  it('sends reasoning as reasoning_content by default, or not at all', () => {
    expect(encodeAll(openaiChunks(IDS), REASONING_EVENTS)).toContain('{"reasoning_content":"The user wants "}');
    expect(encodeAll(openaiChunks({ ...IDS, reasoningField: false }), REASONING_EVENTS)).not.toContain('The user wants');
  });

  it('streams refusal text as refusal deltas', async () => {
    const events: AgentEvent[] = [
      { type: 'text-start', id: 'r', refusal: true },
      { type: 'text-delta', id: 'r', delta: 'I cannot help with that.' },
      { type: 'text-end', id: 'r' },
      { type: 'finish', finishReason: 'content-filter' },
    ];
    const completion = await streamed(events)
      .chat.completions.stream({ model: 'local', messages: [{ role: 'user', content: 'hi' }] })
      .finalChatCompletion();
    expect(completion.choices[0]?.message.refusal).toBe('I cannot help with that.');
    expect(completion.choices[0]?.finish_reason).toBe('content_filter');
  });

  it('sends an error event as an error object the openai SDK raises', async () => {
    expect(encodeAll(openaiChunks(IDS), ERROR_EVENTS)).toMatch(
      /data: \{"error":\{"message":"The model is overloaded, try again.","type":"overloaded_error","code":"provider_overloaded"\}\}\n\n$/,
    );
    await expect(chunksOf(streamed(ERROR_EVENTS))).rejects.toThrow(/overloaded/);
  });

  it('sends an error thrown after the first byte as an error object', async () => {
    const failure = new SluiceError('provider_failed', 'Upstream failed.', { status: 502 });
    await expect(chunksOf(streamed(eventsThenThrow(TEXT_EVENTS.slice(0, 4), failure)))).rejects.toThrow(/Upstream failed/);
  });

  it('is read by the openai SDK with heartbeats between chunks', async () => {
    const format = openaiChunks(IDS);
    const text = TEXT_EVENTS.map((event) => format.encode(event) as string).join(format.heartbeat);
    const chunks = await chunksOf(client(async () => new Response(text, { headers: { 'content-type': format.contentType } })));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hello, "world"\n数字: 1 🎉');
  });

  it('never ends an aborted generation as a success', async () => {
    expect(encodeAll(openaiChunks(IDS), ABORT_EVENTS)).not.toContain('finish_reason":"stop"');
    await expect(chunksOf(streamed(ABORT_EVENTS))).rejects.toThrow(/stopped/);
  });
});

describe('toOpenAiFinishReason', () => {
  it.each([
    ['stop', undefined, 'stop'],
    ['length', undefined, 'length'],
    ['tool-calls', undefined, 'tool_calls'],
    ['content-filter', undefined, 'content_filter'],
    ['error', undefined, 'stop'],
    ['other', 'end_turn', 'stop'],
    ['tool-calls', 'tool_use', 'tool_calls'],
    ['stop', 'function_call', 'function_call'],
  ] as const)('%s (raw %s) → %s', (reason, raw, expected) => {
    expect(toOpenAiFinishReason(reason, raw)).toBe(expected);
  });
});

describe('toChatCompletion', () => {
  it('collects text, finish_reason and usage into a chat.completion the openai SDK accepts', async () => {
    const body = await toChatCompletion(TEXT_EVENTS, IDS);
    const completion = await client(async () => Response.json(body)).chat.completions.create({
      model: 'local',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'local',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, "world"\n数字: 1 🎉', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 5 } },
    });
  });

  it('collects tool calls with their argument text, content null', async () => {
    const completion = await toChatCompletion(CLIENT_TOOL_EVENTS, IDS);
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":"sluice"}' } },
          { id: 'call_b', type: 'function', function: { name: 'lookup', arguments: '{"q":"whole"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
  });

  it('reads async sources', async () => {
    async function* events() {
      yield* TEXT_EVENTS;
    }
    expect((await toChatCompletion(events(), IDS)).choices[0]?.message.content).toBe('Hello, "world"\n数字: 1 🎉');
  });

  it('throws a sluice error for a stream that ends with error or abort', async () => {
    await expect(toChatCompletion(ERROR_EVENTS, IDS)).rejects.toMatchObject({ code: 'provider_overloaded', status: 529 });
    await expect(toChatCompletion(ABORT_EVENTS, IDS)).rejects.toMatchObject({ code: 'aborted' });
  });
});
