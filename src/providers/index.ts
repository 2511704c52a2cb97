/**
 * The providers layer: OpenAI, Anthropic, OpenAI-compatible and the local demo model, each a
 * function from a chat request to a stream of AgentEvents.
 *
 * - `createOpenAIProvider()`: Chat Completions; the Responses API with `api: 'responses'` or a
 *   call's `providerOptions.openai.api = 'responses'`. Key `OPENAI_API_KEY`, base URL `OPENAI_BASE_URL`.
 * - `createAnthropicProvider()`: Messages. Key `ANTHROPIC_API_KEY`, base URL `ANTHROPIC_BASE_URL`.
 * - `createOpenAICompatibleProvider()`: Chat Completions against `OPENAI_COMPATIBLE_BASE_URL` with
 *   `OPENAI_COMPATIBLE_API_KEY` (optional); when that URL is unset, `OPENAI_BASE_URL` with
 *   `OPENAI_API_KEY`. `OPENAI_API_KEY` is never sent to a base URL of its own.
 *
 * Every stream starts with `message-start` and ends with one `finish` or `error`. Failures before
 * the first event are retried when retryable (`maxRetries`, honouring `Retry-After`) and then
 * thrown from the first `next()` as a {@link ProviderError} (or {@link ProviderConfigError} for a
 * missing key, before anything is sent); after the first event they become an `error` event.
 * {@link PROVIDER_ERROR_CODES} lists every code with the HTTP status the server answers. The
 * replay test kit is `sluice/replay` (src/providers/replay/).
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
export { createLocalProvider, localProvider, LOCAL_MODEL_NAME, DEMO_NOTICE, bundledDocs, searchDocs } from './local/index.ts';
export type { LocalProviderOptions, BundledDoc, DocHit, SearchDocsOptions } from './local/index.ts';
