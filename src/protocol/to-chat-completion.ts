/**
 * Agent events as one OpenAI `chat.completion` object, the non-streaming answer of `POST /v1/chat/completions`.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import { createMessageAccumulator } from './message-accumulator.ts';
import { toOpenAiFinishReason, toOpenAiUsage, type OpenAiFinishReason } from './openai-chunks.ts';
import type { AgentEvent } from './types.ts';

/** Options of {@link toChatCompletion}. */
export interface ChatCompletionOptions {
  /** The completion ID (`chatcmpl-…`). */
  id: string;
  /** The model name the client asked for. */
  model: string;
  /** Unix time in seconds when the completion was created. */
  created: number;
}

/** An OpenAI `chat.completion` object, as far as sluice fills it. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: string | null;
      tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
    };
    logprobs: null;
    finish_reason: OpenAiFinishReason;
  }[];
  usage?: ReturnType<typeof toOpenAiUsage>;
}

/**
 * Collects agent events into one OpenAI `chat.completion`: the text as `content`, refusal text as
 * `refusal`, tool calls with their argument text, `finish_reason` and `usage`.
 * @param events - the events of one generation
 * @param options - the completion's ID, model and creation time
 * @returns the completion, once the events end
 * @throws SluiceError with the event's code when the stream ends with `error` (the event's upstream HTTP status, else 502) or `abort` (code `aborted`)
 * @example
 * ```ts
 * res.json(await toChatCompletion(events, { id, model: body.model, created }))
 * ```
 */
export async function toChatCompletion(
  events: Iterable<AgentEvent> | AsyncIterable<AgentEvent>,
  options: ChatCompletionOptions,
): Promise<ChatCompletion> {
  const accumulator = createMessageAccumulator();
  for await (const event of events) accumulator.push(event);
  const message = accumulator.message;
  if (message.error !== undefined) {
    // The upstream status when it was an HTTP error (429 stays 429), else a bad gateway.
    const upstream = message.error.status;
    const status = upstream !== undefined && upstream >= 400 && upstream <= 599 ? upstream : 502;
    throw new SluiceError(message.error.code, message.error.message, { status });
  }
  if (message.abortReason !== undefined) {
    throw new SluiceError('aborted', `The generation was stopped: ${message.abortReason}.`, { status: 503 });
  }
  const toolCalls = message.toolCalls.map((call) => ({
    id: call.toolCallId,
    type: 'function' as const,
    function: {
      name: call.toolName,
      arguments: call.inputText !== '' ? call.inputText : (JSON.stringify(call.input ?? {}) as string),
    },
  }));
  const finishReason =
    message.finishReason === undefined ? (toolCalls.length > 0 ? 'tool_calls' : 'stop') : toOpenAiFinishReason(message.finishReason, message.rawFinishReason);
  const completion: ChatCompletion = {
    id: options.id,
    object: 'chat.completion',
    created: options.created,
    model: options.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: message.text === '' && toolCalls.length > 0 ? null : message.text,
          refusal: message.refusal === '' ? null : message.refusal,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
  };
  if (message.usage !== undefined) completion.usage = toOpenAiUsage(message.usage);
  return completion;
}
