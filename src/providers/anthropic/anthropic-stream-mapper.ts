/**
 * Anthropic Messages stream events to agent events.
 *
 * @module
 */
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { AgentEvent, Usage } from '../../protocol/types.ts';
import { ProviderError } from '../errors.ts';
import { parseToolInput } from '../shared/parse-tool-input.ts';
import type { StreamEventMapper } from '../shared/run-provider-stream.ts';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.ts';

type Block =
  | { kind: 'text'; id: string }
  | { kind: 'thinking'; id: string; signature: string }
  | { kind: 'tool'; id: string; name: string; input: string; initialInput: unknown }
  | { kind: 'other' };

/** Naming for events and errors. */
export interface AnthropicStreamMapperOptions {
  model: string;
  url: string;
}

function count(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/**
 * Maps one Messages stream. Content blocks become parts whose id is the block index; thinking
 * blocks become reasoning parts whose `reasoning-end` carries the signature; `tool_use` blocks
 * become tool calls whose input fragments (`input_json_delta`) are forwarded as they come.
 * Usage: input tokens from `message_start` (or `message_delta` when it repeats them), output
 * tokens from `message_delta` (cumulative), the total computed, `cachedInputTokens` =
 * `cache_read_input_tokens`, reasoning tokens not reported (null).
 * @param options - naming for events and errors
 * @returns the mapper
 */
export function createAnthropicStreamMapper(options: AnthropicStreamMapperOptions): StreamEventMapper<RawMessageStreamEvent> {
  const blocks = new Map<number, Block>();
  let inputTokens: number | null = null;
  let cachedInputTokens: number | null = null;
  let usage: Usage | undefined;
  let stopReason: string | null | undefined;
  let stopped = false;

  return {
    push(event) {
      const events: AgentEvent[] = [];
      switch (event.type) {
        case 'message_start':
          inputTokens = count(event.message.usage.input_tokens);
          cachedInputTokens = count(event.message.usage.cache_read_input_tokens);
          events.push({ type: 'message-start', messageId: event.message.id, model: options.model });
          break;
        case 'content_block_start': {
          const id = String(event.index);
          const block = event.content_block;
          if (block.type === 'text') {
            blocks.set(event.index, { kind: 'text', id });
            events.push({ type: 'text-start', id });
            if (block.text !== '') events.push({ type: 'text-delta', id, delta: block.text });
          } else if (block.type === 'thinking') {
            blocks.set(event.index, { kind: 'thinking', id, signature: block.signature ?? '' });
            events.push({ type: 'reasoning-start', id });
            if (block.thinking !== '') events.push({ type: 'reasoning-delta', id, delta: block.thinking });
          } else if (block.type === 'tool_use' || block.type === 'server_tool_use') {
            blocks.set(event.index, { kind: 'tool', id: block.id, name: block.name, input: '', initialInput: block.input });
            events.push({ type: 'tool-call-start', toolCallId: block.id, toolName: block.name });
          } else {
            // redacted_thinking and server tool results carry nothing to show as it streams.
            blocks.set(event.index, { kind: 'other' });
          }
          break;
        }
        case 'content_block_delta': {
          const block = blocks.get(event.index);
          const delta = event.delta;
          if (!block || block.kind === 'other') break;
          if (delta.type === 'text_delta' && block.kind === 'text') {
            if (delta.text !== '') events.push({ type: 'text-delta', id: block.id, delta: delta.text });
          } else if (delta.type === 'thinking_delta' && block.kind === 'thinking') {
            if (delta.thinking !== '') events.push({ type: 'reasoning-delta', id: block.id, delta: delta.thinking });
          } else if (delta.type === 'signature_delta' && block.kind === 'thinking') {
            block.signature += delta.signature;
          } else if (delta.type === 'input_json_delta' && block.kind === 'tool') {
            if (delta.partial_json !== '') {
              block.input += delta.partial_json;
              events.push({ type: 'tool-call-delta', toolCallId: block.id, delta: delta.partial_json });
            }
          }
          break;
        }
        case 'content_block_stop': {
          const block = blocks.get(event.index);
          blocks.delete(event.index);
          if (!block || block.kind === 'other') break;
          if (block.kind === 'text') events.push({ type: 'text-end', id: block.id });
          else if (block.kind === 'thinking') {
            events.push(block.signature === '' ? { type: 'reasoning-end', id: block.id } : { type: 'reasoning-end', id: block.id, signature: block.signature });
          } else {
            const input = block.input === '' ? (block.initialInput ?? {}) : parseToolInput(block.input);
            events.push({ type: 'tool-call', toolCallId: block.id, toolName: block.name, input });
          }
          break;
        }
        case 'message_delta': {
          stopReason = event.delta.stop_reason ?? stopReason;
          const reported = event.usage as { input_tokens?: number | null; cache_read_input_tokens?: number | null; output_tokens?: number | null };
          const input = count(reported.input_tokens) ?? inputTokens;
          const output = count(reported.output_tokens);
          const cached = count(reported.cache_read_input_tokens) ?? cachedInputTokens;
          usage = {
            inputTokens: input,
            outputTokens: output,
            totalTokens: input !== null && output !== null ? input + output : null,
            reasoningTokens: null,
            cachedInputTokens: cached,
          };
          events.push({ type: 'usage', ...usage });
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
        default:
          break;
      }
      return events;
    },
    end() {
      if (!stopped && stopReason === undefined) {
        throw new ProviderError('provider_stream_interrupted', 'The Anthropic stream ended before message_stop.', {
          provider: 'anthropic',
          url: options.url,
          statusCode: 200,
          isRetryable: true,
        });
      }
      return [
        {
          type: 'finish',
          finishReason: mapAnthropicStopReason(stopReason),
          rawFinishReason: stopReason ?? null,
          ...(usage ? { usage } : {}),
        },
      ];
    },
  };
}
