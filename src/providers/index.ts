/**
 * The providers layer: OpenAI, Anthropic, OpenAI-compatible and the local demo model, each a
 * function from a chat request to a stream of AgentEvents.
 *
 * @module
 */
export type * from './types.ts';
export { createOpenAIProvider } from './openai/create-openai-provider.ts';
export type { OpenAIApi, OpenAIProviderOptions } from './openai/create-openai-provider.ts';
export { createAnthropicProvider } from './anthropic/create-anthropic-provider.ts';
export type { AnthropicProviderOptions } from './anthropic/create-anthropic-provider.ts';
export { createOpenAICompatibleProvider } from './openai-compatible/create-openai-compatible-provider.ts';
export type { OpenAICompatibleProviderOptions } from './openai-compatible/create-openai-compatible-provider.ts';
export {
  PROVIDER_ERROR_CODES,
  ProviderError,
  ProviderConfigError,
  isProviderError,
  isRetryableStatus,
  toErrorEvent,
} from './errors.ts';
export type { ProviderErrorCode, ProviderErrorOptions } from './errors.ts';
export { DEFAULT_RELIABILITY_OPTIONS } from './shared/run-provider-stream.ts';
export type { ReliabilityOptions } from './shared/run-provider-stream.ts';
export type { RetryOptions } from './shared/retry.ts';
