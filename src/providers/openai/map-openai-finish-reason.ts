/**
 * OpenAI Chat `finish_reason` to the unified finish reason.
 *
 * @module
 */
import type { FinishReason } from '../../protocol/types.ts';

/**
 * Maps an OpenAI Chat Completions `finish_reason`.
 * @param reason - `stop`, `length`, `content_filter`, `tool_calls`, `function_call`, or another value
 * @returns the unified finish reason
 */
export function mapOpenAIFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    default:
      return 'other';
  }
}
