/**
 * Builds the Chat Completions streaming request body.
 *
 * @module
 */
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ChatRequest } from '../types.ts';
import { messagesAskingToContinue } from '../shared/continuation.ts';
import { convertToOpenAIChatMessages, convertToOpenAIChatToolChoice, convertToOpenAIChatTools } from './convert-to-openai-chat-messages.ts';

/**
 * The streaming request for `request`. Keys of `providerOptions[providerKey]` other than `api`
 * are passed through into the body (e.g. `reasoning_effort`, `seed`, `user`).
 * @param request - the chat request
 * @param providerKey - `openai` or `openai-compatible`
 * @param maxTokensField - `max_completion_tokens` (OpenAI) or `max_tokens` (most compatible servers)
 * @returns the body, with `stream: true` and `stream_options.include_usage`
 */
export function toOpenAIChatRequest(
  request: ChatRequest,
  providerKey: string,
  maxTokensField: 'max_completion_tokens' | 'max_tokens',
): ChatCompletionCreateParamsStreaming {
  const { api: _api, ...extra } = request.providerOptions?.[providerKey] ?? {};
  const tools = convertToOpenAIChatTools(request.tools);
  const toolChoice = tools ? convertToOpenAIChatToolChoice(request.toolChoice) : undefined;
  return {
    ...extra,
    model: request.model,
    messages: convertToOpenAIChatMessages(messagesAskingToContinue(request)),
    stream: true,
    stream_options: { include_usage: true },
    ...(tools ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(request.maxOutputTokens === undefined ? {} : { [maxTokensField]: request.maxOutputTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  };
}
