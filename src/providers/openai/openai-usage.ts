/**
 * OpenAI usage objects (Chat and Responses) to {@link Usage}.
 *
 * @module
 */
import type { Usage } from '../../protocol/types.ts';

function count(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/**
 * Maps a Chat Completions `usage` object.
 * @param usage - `prompt_tokens`, `completion_tokens`, `total_tokens` and their `*_details`
 * @returns the usage
 */
export function mapOpenAIChatUsage(usage: {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}): Usage {
  return {
    inputTokens: count(usage.prompt_tokens),
    outputTokens: count(usage.completion_tokens),
    totalTokens: count(usage.total_tokens),
    reasoningTokens: count(usage.completion_tokens_details?.reasoning_tokens),
    cachedInputTokens: count(usage.prompt_tokens_details?.cached_tokens),
  };
}

/**
 * Maps a Responses `response.usage` object.
 * @param usage - `input_tokens`, `output_tokens`, `total_tokens` and their `*_details`
 * @returns the usage
 */
export function mapOpenAIResponsesUsage(usage: {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  input_tokens_details?: { cached_tokens?: number } | null;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}): Usage {
  return {
    inputTokens: count(usage.input_tokens),
    outputTokens: count(usage.output_tokens),
    totalTokens: count(usage.total_tokens),
    reasoningTokens: count(usage.output_tokens_details?.reasoning_tokens),
    cachedInputTokens: count(usage.input_tokens_details?.cached_tokens),
  };
}
