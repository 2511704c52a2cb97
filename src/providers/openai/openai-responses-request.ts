/**
 * Builds the Responses API streaming request body.
 *
 * @module
 */
import { messagesAskingToContinue } from '../shared/continuation.ts';
import type { ResponseCreateParamsStreaming, ResponseInputItem, FunctionTool } from 'openai/resources/responses/responses';
import type { ChatMessage, ChatRequest, MessagePart } from '../types.ts';

function textOf(content: string | MessagePart[]): string {
  return typeof content === 'string' ? content : content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/**
 * Converts messages to Responses input items: text messages, `function_call` items for tool
 * calls and `function_call_output` items for tool results (reasoning parts are dropped).
 * @param messages - the conversation
 * @returns the input items
 */
export function convertToOpenAIResponsesInput(messages: ChatMessage[]): ResponseInputItem[] {
  const items: ResponseInputItem[] = [];
  for (const message of messages) {
    const parts = typeof message.content === 'string' ? [] : message.content;
    const text = textOf(message.content);
    if (message.role === 'system' || message.role === 'user' || message.role === 'assistant') {
      if (text !== '' || parts.length === 0) items.push({ role: message.role, content: text });
    }
    for (const part of parts) {
      if (part.type === 'tool-call') {
        items.push({ type: 'function_call', call_id: part.toolCallId, name: part.toolName, arguments: JSON.stringify(part.input ?? {}) });
      } else if (part.type === 'tool-result') {
        items.push({ type: 'function_call_output', call_id: part.toolCallId, output: typeof part.output === 'string' ? part.output : JSON.stringify(part.output) });
      }
    }
  }
  return items;
}

/**
 * The streaming Responses request for `request`. Keys of `providerOptions[providerKey]` other
 * than `api` pass through (e.g. `reasoning: { effort: 'low', summary: 'auto' }`).
 * @param request - the chat request
 * @param providerKey - the `providerOptions` key
 * @returns the body, with `stream: true`
 */
export function toOpenAIResponsesRequest(request: ChatRequest, providerKey: string): ResponseCreateParamsStreaming {
  const { api: _api, ...extra } = request.providerOptions?.[providerKey] ?? {};
  const tools: FunctionTool[] | undefined = request.tools?.map((tool) => ({
    type: 'function',
    name: tool.name,
    parameters: tool.inputSchema,
    strict: false,
    ...(tool.description === undefined ? {} : { description: tool.description }),
  }));
  const choice = request.toolChoice;
  return {
    ...extra,
    model: request.model,
    input: convertToOpenAIResponsesInput(messagesAskingToContinue(request)),
    stream: true,
    ...(tools && tools.length > 0 ? { tools } : {}),
    ...(choice === undefined || !tools ? {} : { tool_choice: typeof choice === 'string' ? choice : { type: 'function', name: choice.toolName } }),
    ...(request.maxOutputTokens === undefined ? {} : { max_output_tokens: request.maxOutputTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  };
}
