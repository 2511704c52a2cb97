import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { createOpenAIChatStreamMapper } from './openai-chat-stream-mapper.ts';
import { createOpenAIResponsesStreamMapper } from './openai-responses-stream-mapper.ts';

const OPTIONS = { model: 'openai-compatible:deepseek-reasoner', provider: 'openai-compatible', label: 'OpenAI-compatible server', url: 'http://127.0.0.1/v1/chat/completions' };

function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] } as ChatCompletionChunk;
}

describe('createOpenAIChatStreamMapper', () => {
  it('turns delta.reasoning_content (DeepSeek, vLLM) into reasoning events before the text', () => {
    const mapper = createOpenAIChatStreamMapper(OPTIONS);
    const events = [
      ...mapper.push(chunk({ role: 'assistant', reasoning_content: 'Think' })),
      ...mapper.push(chunk({ reasoning_content: 'ing.' })),
      ...mapper.push(chunk({ content: 'Answer' })),
      ...mapper.push(chunk({}, 'stop')),
      ...mapper.end(),
    ];
    expect(events).toEqual([
      { type: 'message-start', messageId: 'chatcmpl-1', model: OPTIONS.model },
      { type: 'reasoning-start', id: 'reasoning-0' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'Think' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'ing.' },
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Answer' },
      { type: 'reasoning-end', id: 'reasoning-0' },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' },
    ]);
  });

  it('accepts whole tool calls without an index (some compatible servers) and parses their input', () => {
    const mapper = createOpenAIChatStreamMapper(OPTIONS);
    const events = [
      ...mapper.push(chunk({ tool_calls: [{ id: 'c1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }, { id: 'c2', type: 'function', function: { name: 'b', arguments: '' } }] })),
      ...mapper.push(chunk({}, 'tool_calls')),
      ...mapper.end(),
    ];
    expect(events.filter((event) => event.type === 'tool-call')).toEqual([
      { type: 'tool-call', toolCallId: 'c1', toolName: 'a', input: { x: 1 } },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'b', input: {} },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls', rawFinishReason: 'tool_calls' });
  });

  it('throws provider_stream_interrupted when the stream ends without a finish_reason', () => {
    const mapper = createOpenAIChatStreamMapper(OPTIONS);
    mapper.push(chunk({ content: 'Hal' }));
    expect(() => mapper.end()).toThrow(expect.objectContaining({ code: 'provider_stream_interrupted', isRetryable: true }));
  });
});

describe('createOpenAIResponsesStreamMapper', () => {
  it('maps response.incomplete (max_output_tokens) to finish length, raw "incomplete"', () => {
    const mapper = createOpenAIResponsesStreamMapper({ ...OPTIONS, model: 'openai:gpt-4.1' });
    const events = [
      ...mapper.push({ type: 'response.created', sequence_number: 0, response: { id: 'resp_1' } } as ResponseStreamEvent),
      ...mapper.push({ type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi' } as ResponseStreamEvent),
      ...mapper.push({
        type: 'response.incomplete',
        sequence_number: 2,
        response: { id: 'resp_1', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 } },
      } as ResponseStreamEvent),
      ...mapper.end(),
    ];
    const usage = { inputTokens: 3, outputTokens: 1, totalTokens: 4, reasoningTokens: null, cachedInputTokens: null };
    expect(events).toEqual([
      { type: 'message-start', messageId: 'resp_1', model: 'openai:gpt-4.1' },
      { type: 'text-start', id: 'msg_1:0' },
      { type: 'text-delta', id: 'msg_1:0', delta: 'Hi' },
      { type: 'text-end', id: 'msg_1:0' },
      { type: 'usage', ...usage },
      { type: 'finish', finishReason: 'length', rawFinishReason: 'incomplete', usage },
    ]);
  });

  it('streams a refusal as a text part marked refusal', () => {
    const mapper = createOpenAIResponsesStreamMapper(OPTIONS);
    const events = mapper.push({ type: 'response.refusal.delta', sequence_number: 3, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'No.' } as ResponseStreamEvent);
    expect(events.slice(1)).toEqual([
      { type: 'text-start', id: 'msg_1:0', refusal: true },
      { type: 'text-delta', id: 'msg_1:0', delta: 'No.' },
    ]);
  });
});
