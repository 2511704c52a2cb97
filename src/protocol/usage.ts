/**
 * Usage helpers shared by the codecs.
 *
 * @module
 */
import type { Usage, UsageEvent } from './types.ts';

/**
 * The token counts of a `usage` event, without its `type`.
 * @param event - the usage event
 * @returns the counts
 */
export function usageOf(event: UsageEvent): Usage {
  return {
    inputTokens: event.inputTokens,
    outputTokens: event.outputTokens,
    totalTokens: event.totalTokens,
    reasoningTokens: event.reasoningTokens,
    cachedInputTokens: event.cachedInputTokens,
  };
}
