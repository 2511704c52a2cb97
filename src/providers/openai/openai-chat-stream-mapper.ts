/**
 * OpenAI Chat Completions chunks (`chat.completion.chunk`) to agent events.
 *
 * @module
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { AgentEvent, Usage } from '../../protocol/types.ts';
import { ProviderError } from '../errors.ts';
import { parseToolInput } from '../shared/parse-tool-input.ts';
import type { StreamEventMapper } from '../shared/run-provider-stream.ts';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.ts';
import { mapOpenAIChatUsage } from './openai-usage.ts';

/** The part ids of a Chat answer: it has one text, one refusal and one reasoning part at most. */
const TEXT_ID = 'text-0';
const REFUSAL_ID = 'refusal-0';
const REASONING_ID = 'reasoning-0';

interface PendingToolCall {
  id: string;
  name: string;
  arguments: string;
  started: boolean;
}

/** Fields some OpenAI-compatible servers (DeepSeek, vLLM, Ollama) add to `delta` for thinking. */
interface CompatibleDelta {
  reasoning_content?: string | null;
  reasoning?: string | null;
}

/** Where the mapper reports. */
export interface OpenAIChatStreamMapperOptions {
  /** The model as named to sluice (`openai:gpt-4o-mini`). */
  model: string;
  provider: string;
  label: string;
  url: string;
}

/**
 * Maps one Chat Completions stream. Text, refusal and reasoning deltas pass through as they
 * arrive; tool-call fragments are forwarded as `tool-call-delta` and the parsed `tool-call`
 * follows at `finish_reason`. The `finish` event waits for the end of the stream because the
 * usage chunk (`stream_options.include_usage`) comes after `finish_reason`.
 * @param options - naming for events and errors
 * @returns the mapper
 */
export function createOpenAIChatStreamMapper(options: OpenAIChatStreamMapperOptions): StreamEventMapper<ChatCompletionChunk> {
  let started = false;
  const open = new Set<string>();
  const toolCalls = new Map<number, PendingToolCall>();
  let finishReason: string | undefined;
  let usage: Usage | undefined;

  const closeParts = (events: AgentEvent[]): void => {
    for (const id of open) events.push(id === REASONING_ID ? { type: 'reasoning-end', id } : { type: 'text-end', id });
    open.clear();
  };

  const textDelta = (events: AgentEvent[], id: string, delta: string): void => {
    if (!open.has(id)) {
      open.add(id);
      if (id === REASONING_ID) events.push({ type: 'reasoning-start', id });
      else events.push(id === REFUSAL_ID ? { type: 'text-start', id, refusal: true } : { type: 'text-start', id });
    }
    events.push(id === REASONING_ID ? { type: 'reasoning-delta', id, delta } : { type: 'text-delta', id, delta });
  };

  return {
    push(chunk) {
      const events: AgentEvent[] = [];
      if (!started) {
        started = true;
        events.push({ type: 'message-start', messageId: chunk.id || crypto.randomUUID(), model: options.model });
      }
      if (chunk.usage) {
        usage = mapOpenAIChatUsage(chunk.usage);
        events.push({ type: 'usage', ...usage });
      }
      // Only the first choice: sluice asks for one (`n` is never set).
      const choice = chunk.choices?.find((candidate) => candidate.index === 0) ?? chunk.choices?.[0];
      if (!choice) return events;
      const delta = choice.delta ?? {};
      const thinking = (delta as CompatibleDelta).reasoning_content ?? (delta as CompatibleDelta).reasoning;
      if (typeof thinking === 'string' && thinking !== '') textDelta(events, REASONING_ID, thinking);
      if (typeof delta.content === 'string' && delta.content !== '') textDelta(events, TEXT_ID, delta.content);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') textDelta(events, REFUSAL_ID, delta.refusal);
      for (const [position, fragment] of (delta.tool_calls ?? []).entries()) {
        // Some compatible servers omit `index` when they send whole calls; fall back to arrival order.
        const index = typeof fragment.index === 'number' ? fragment.index : toolCalls.size + position;
        let call = toolCalls.get(index);
        if (!call) {
          call = { id: fragment.id ?? `call_${crypto.randomUUID()}`, name: '', arguments: '', started: false };
          toolCalls.set(index, call);
        }
        if (fragment.function?.name) call.name = fragment.function.name;
        if (!call.started && call.name !== '') {
          call.started = true;
          events.push({ type: 'tool-call-start', toolCallId: call.id, toolName: call.name });
          if (call.arguments !== '') events.push({ type: 'tool-call-delta', toolCallId: call.id, delta: call.arguments });
        }
        const argumentsDelta = fragment.function?.arguments;
        if (typeof argumentsDelta === 'string' && argumentsDelta !== '') {
          call.arguments += argumentsDelta;
          if (call.started) events.push({ type: 'tool-call-delta', toolCallId: call.id, delta: argumentsDelta });
        }
      }
      if (choice.finish_reason && finishReason === undefined) {
        finishReason = choice.finish_reason;
        closeParts(events);
        flushToolCalls(events);
      }
      return events;
    },
    end() {
      if (finishReason === undefined) {
        throw new ProviderError('provider_stream_interrupted', `The ${options.label} stream ended before a finish_reason.`, {
          provider: options.provider,
          url: options.url,
          statusCode: 200,
          isRetryable: true,
        });
      }
      return [
        {
          type: 'finish',
          finishReason: mapOpenAIFinishReason(finishReason),
          rawFinishReason: finishReason,
          ...(usage ? { usage } : {}),
        },
      ];
    },
  };

  function flushToolCalls(events: AgentEvent[]): void {
    for (const index of [...toolCalls.keys()].sort((a, b) => a - b)) {
      const call = toolCalls.get(index);
      if (!call) continue;
      if (!call.started) events.push({ type: 'tool-call-start', toolCallId: call.id, toolName: call.name });
      events.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: parseToolInput(call.arguments) });
    }
    toolCalls.clear();
  }
}
