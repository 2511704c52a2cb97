/**
 * OpenAI Responses API stream events to agent events.
 *
 * @module
 */
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { AgentEvent, FinishReason, Usage } from '../../protocol/types.ts';
import { ProviderError } from '../errors.ts';
import { parseToolInput } from '../shared/parse-tool-input.ts';
import type { StreamEventMapper } from '../shared/run-provider-stream.ts';
import { providerErrorFromBody } from '../shared/to-provider-error.ts';
import { mapOpenAIResponsesUsage } from './openai-usage.ts';
import type { OpenAIChatStreamMapperOptions } from './openai-chat-stream-mapper.ts';

interface FunctionCallState {
  callId: string;
  name: string;
  arguments: string;
  done: boolean;
}

/**
 * Maps one Responses stream: `output_text` and `refusal` parts become text parts (part id
 * `<item id>:<content index>`), reasoning summary parts become reasoning parts
 * (`<item id>:<summary index>`), `function_call` items become tool calls whose `toolCallId` is the
 * item's `call_id` (what a tool result must reference). `response.completed` and
 * `response.incomplete` give `finish` (raw reason: the response status); `response.failed` ends
 * the stream with its error.
 * @param options - naming for events and errors
 * @returns the mapper
 */
export function createOpenAIResponsesStreamMapper(options: OpenAIChatStreamMapperOptions): StreamEventMapper<ResponseStreamEvent> {
  let started = false;
  const openText = new Set<string>();
  const openReasoning = new Set<string>();
  const calls = new Map<string, FunctionCallState>();
  let finish: AgentEvent | undefined;

  const startMessage = (events: AgentEvent[], id: string | undefined): void => {
    if (started) return;
    started = true;
    events.push({ type: 'message-start', messageId: id ?? crypto.randomUUID(), model: options.model });
  };
  const textPart = (events: AgentEvent[], id: string, refusal: boolean): void => {
    if (openText.has(id)) return;
    openText.add(id);
    events.push(refusal ? { type: 'text-start', id, refusal: true } : { type: 'text-start', id });
  };
  const endText = (events: AgentEvent[], id: string): void => {
    if (openText.delete(id)) events.push({ type: 'text-end', id });
  };
  const reasoningPart = (events: AgentEvent[], id: string): void => {
    if (openReasoning.has(id)) return;
    openReasoning.add(id);
    events.push({ type: 'reasoning-start', id });
  };
  const endReasoning = (events: AgentEvent[], id: string): void => {
    if (openReasoning.delete(id)) events.push({ type: 'reasoning-end', id });
  };
  const startCall = (events: AgentEvent[], itemId: string, callId: string, name: string): FunctionCallState => {
    let call = calls.get(itemId);
    if (!call) {
      call = { callId, name, arguments: '', done: false };
      calls.set(itemId, call);
      events.push({ type: 'tool-call-start', toolCallId: callId, toolName: name });
    }
    return call;
  };

  return {
    push(event) {
      const events: AgentEvent[] = [];
      switch (event.type) {
        case 'response.created':
        case 'response.in_progress':
          startMessage(events, event.response.id);
          break;
        case 'response.output_item.added':
          startMessage(events, undefined);
          if (event.item.type === 'function_call') startCall(events, event.item.id ?? event.item.call_id, event.item.call_id, event.item.name);
          break;
        case 'response.content_part.added':
          startMessage(events, undefined);
          if (event.part.type === 'output_text' || event.part.type === 'refusal') {
            textPart(events, `${event.item_id}:${event.content_index}`, event.part.type === 'refusal');
          }
          break;
        case 'response.output_text.delta':
        case 'response.refusal.delta': {
          startMessage(events, undefined);
          const id = `${event.item_id}:${event.content_index}`;
          textPart(events, id, event.type === 'response.refusal.delta');
          if (event.delta !== '') events.push({ type: 'text-delta', id, delta: event.delta });
          break;
        }
        case 'response.content_part.done':
          endText(events, `${event.item_id}:${event.content_index}`);
          break;
        case 'response.reasoning_summary_part.added':
          startMessage(events, undefined);
          reasoningPart(events, `${event.item_id}:${event.summary_index}`);
          break;
        case 'response.reasoning_summary_text.delta': {
          startMessage(events, undefined);
          const id = `${event.item_id}:${event.summary_index}`;
          reasoningPart(events, id);
          if (event.delta !== '') events.push({ type: 'reasoning-delta', id, delta: event.delta });
          break;
        }
        case 'response.reasoning_summary_part.done':
          endReasoning(events, `${event.item_id}:${event.summary_index}`);
          break;
        case 'response.function_call_arguments.delta': {
          const call = calls.get(event.item_id);
          if (call && event.delta !== '') {
            call.arguments += event.delta;
            events.push({ type: 'tool-call-delta', toolCallId: call.callId, delta: event.delta });
          }
          break;
        }
        case 'response.output_item.done':
          if (event.item.type === 'function_call') {
            const call = startCall(events, event.item.id ?? event.item.call_id, event.item.call_id, event.item.name);
            if (!call.done) {
              call.done = true;
              const text = event.item.arguments || call.arguments;
              events.push({ type: 'tool-call', toolCallId: call.callId, toolName: call.name, input: parseToolInput(text) });
            }
          } else if (event.item.type === 'message') {
            for (const id of [...openText]) if (id.startsWith(`${event.item.id}:`)) endText(events, id);
          } else if (event.item.type === 'reasoning') {
            for (const id of [...openReasoning]) if (id.startsWith(`${event.item.id}:`)) endReasoning(events, id);
          }
          break;
        case 'response.completed':
        case 'response.incomplete': {
          startMessage(events, event.response.id);
          for (const id of [...openText]) endText(events, id);
          for (const id of [...openReasoning]) endReasoning(events, id);
          const usage: Usage | undefined = event.response.usage ? mapOpenAIResponsesUsage(event.response.usage) : undefined;
          if (usage) events.push({ type: 'usage', ...usage });
          const reason = event.response.incomplete_details?.reason;
          const finishReason: FinishReason =
            event.type === 'response.completed'
              ? calls.size > 0
                ? 'tool-calls'
                : 'stop'
              : reason === 'max_output_tokens'
                ? 'length'
                : reason === 'content_filter'
                  ? 'content-filter'
                  : 'other';
          finish = { type: 'finish', finishReason, rawFinishReason: event.response.status ?? null, ...(usage ? { usage } : {}) };
          break;
        }
        case 'response.failed':
          throw providerErrorFromBody(
            { provider: options.provider, label: options.label, url: options.url, keyVariable: 'OPENAI_API_KEY', started: true },
            200,
            event.response.error ?? { message: 'The response failed.' },
            undefined,
          );
        default:
          break;
      }
      return events;
    },
    end() {
      if (!finish) {
        throw new ProviderError('provider_stream_interrupted', `The ${options.label} Responses stream ended before response.completed.`, {
          provider: options.provider,
          url: options.url,
          statusCode: 200,
          isRetryable: true,
        });
      }
      return [finish];
    },
  };
}
