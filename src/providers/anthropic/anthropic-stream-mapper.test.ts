import { expect, it } from 'vitest';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { createAnthropicStreamMapper } from './anthropic-stream-mapper.ts';

const start = {
  type: 'message_start',
  message: { id: 'msg_1', usage: { input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 1 } },
} as RawMessageStreamEvent;

it('maps max_tokens to length, counts cached input tokens, and skips redacted thinking', () => {
  const mapper = createAnthropicStreamMapper({ model: 'anthropic:claude', url: 'http://127.0.0.1/v1/messages' });
  const events = [
    ...mapper.push(start),
    ...mapper.push({ type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'opaque' } } as RawMessageStreamEvent),
    ...mapper.push({ type: 'content_block_stop', index: 0 } as RawMessageStreamEvent),
    ...mapper.push({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } } as RawMessageStreamEvent),
    ...mapper.push({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi' } } as RawMessageStreamEvent),
    ...mapper.push({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 5 } } as RawMessageStreamEvent),
    ...mapper.push({ type: 'message_stop' } as RawMessageStreamEvent),
    ...mapper.end(),
  ];
  const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15, reasoningTokens: null, cachedInputTokens: 4 };
  expect(events).toEqual([
    { type: 'message-start', messageId: 'msg_1', model: 'anthropic:claude' },
    { type: 'text-start', id: '1' },
    { type: 'text-delta', id: '1', delta: 'Hi' },
    { type: 'usage', ...usage },
    { type: 'finish', finishReason: 'length', rawFinishReason: 'max_tokens', usage },
  ]);
});

it('throws provider_stream_interrupted when the stream ends before message_stop', () => {
  const mapper = createAnthropicStreamMapper({ model: 'anthropic:claude', url: 'http://127.0.0.1/v1/messages' });
  mapper.push(start);
  expect(() => mapper.end()).toThrow(expect.objectContaining({ code: 'provider_stream_interrupted' }));
});
