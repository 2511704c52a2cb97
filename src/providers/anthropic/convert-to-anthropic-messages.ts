/**
 * sluice chat messages and tools to the Anthropic Messages request shape.
 *
 * @module
 */
import type { ContentBlockParam, MessageParam, Tool, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import type { ChatMessage, ChatRequest } from '../types.ts';

/**
 * Converts messages: system messages are joined into `system`; tool results become `tool_result`
 * blocks of a user message; reasoning parts with a signature go back as `thinking` blocks (the
 * API requires the signature to accept them).
 * @param messages - the conversation
 * @returns the `system` text and the messages
 */
export function convertToAnthropicMessages(messages: ChatMessage[]): { system: string | undefined; messages: MessageParam[] } {
  const system: string[] = [];
  const result: MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      system.push(typeof message.content === 'string' ? message.content : message.content.map((p) => (p.type === 'text' ? p.text : '')).join(''));
      continue;
    }
    if (typeof message.content === 'string') {
      result.push({ role: message.role === 'assistant' ? 'assistant' : 'user', content: message.content });
      continue;
    }
    const blocks: ContentBlockParam[] = [];
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
          if (part.text !== '') blocks.push({ type: 'text', text: part.text });
          break;
        case 'reasoning':
          if (part.signature !== undefined) blocks.push({ type: 'thinking', thinking: part.text, signature: part.signature });
          break;
        case 'tool-call':
          blocks.push({ type: 'tool_use', id: part.toolCallId, name: part.toolName, input: part.input ?? {} });
          break;
        case 'tool-result':
          blocks.push({
            type: 'tool_result',
            tool_use_id: part.toolCallId,
            content: typeof part.output === 'string' ? part.output : JSON.stringify(part.output),
            ...(part.isError ? { is_error: true } : {}),
          });
          break;
      }
    }
    result.push({ role: message.role === 'assistant' ? 'assistant' : 'user', content: blocks });
  }
  return { system: system.length > 0 ? system.join('\n\n') : undefined, messages: result };
}

/**
 * Converts tool definitions.
 * @param tools - the tools
 * @returns Anthropic tools
 */
export function convertToAnthropicTools(tools: ChatRequest['tools']): Tool[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  return tools.map((tool) => ({
    name: tool.name,
    input_schema: { type: 'object', ...tool.inputSchema },
    ...(tool.description === undefined ? {} : { description: tool.description }),
  }));
}

/**
 * Converts the tool choice (`required` is Anthropic's `any`).
 * @param choice - the tool choice
 * @returns the Anthropic `tool_choice`
 */
export function convertToAnthropicToolChoice(choice: ChatRequest['toolChoice']): ToolChoice | undefined {
  switch (choice) {
    case undefined:
      return undefined;
    case 'auto':
      return { type: 'auto' };
    case 'none':
      return { type: 'none' };
    case 'required':
      return { type: 'any' };
    default:
      return { type: 'tool', name: choice.toolName };
  }
}
