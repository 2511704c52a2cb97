/**
 * Anthropic `stop_reason` to the unified finish reason.
 *
 * @module
 */
import type { FinishReason } from '../../protocol/types.ts';

/**
 * Maps an Anthropic Messages `stop_reason`.
 * @param reason - `end_turn`, `stop_sequence`, `max_tokens`, `tool_use`, `refusal`, `pause_turn`, …
 * @returns the unified finish reason
 */
export function mapAnthropicStopReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      return 'other';
  }
}
