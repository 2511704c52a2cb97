/**
 * sluice chat messages and tools to the OpenAI Chat Completions request shape.
 *
 * @module
 */
import type { ChatCompletionMessageParam, ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import type { ChatMessage, ChatRequest, MessagePart } from '../types.ts';

function textOf(content: string | MessagePart[]): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** A tool result as the text a `tool` message carries. */
function outputText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output);
}

/**
 * Converts messages. Reasoning parts are dropped (Chat Completions cannot take them back); tool
 * results become one `tool` message each.
 * @param messages - the conversation
 * @returns Chat Completions messages
 */
export function convertToOpenAIChatMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  const result: ChatCompletionMessageParam[] = [];
  for (const message of messages) {
    const parts = typeof message.content === 'string' ? [] : message.content;
    switch (message.role) {
      case 'system':
        result.push({ role: 'system', content: textOf(message.content) });
        break;
      case 'assistant': {
        const toolCalls = parts.flatMap((part) =>
          part.type === 'tool-call'
            ? [{ id: part.toolCallId, type: 'function' as const, function: { name: part.toolName, arguments: JSON.stringify(part.input ?? {}) } }]
            : [],
        );
        const content = textOf(message.content);
        result.push({ role: 'assistant', content: content === '' && toolCalls.length > 0 ? null : content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
        break;
      }
      case 'user':
      case 'tool': {
        for (const part of parts) {
          if (part.type === 'tool-result') result.push({ role: 'tool', tool_call_id: part.toolCallId, content: outputText(part.output) });
        }
        const content = textOf(message.content);
        if (content !== '' || (message.role === 'user' && parts.length === 0)) result.push({ role: 'user', content });
        break;
      }
    }
  }
  return result;
}

/**
 * Converts tool definitions.
 * @param tools - the tools
 * @returns Chat Completions function tools
 */
export function convertToOpenAIChatTools(tools: ChatRequest['tools']): ChatCompletionTool[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), parameters: tool.inputSchema },
  }));
}

/**
 * Converts the tool choice.
 * @param choice - `auto`, `none`, `required` or one tool
 * @returns the Chat Completions `tool_choice`
 */
export function convertToOpenAIChatToolChoice(choice: ChatRequest['toolChoice']): ChatCompletionToolChoiceOption | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.toolName } };
}
