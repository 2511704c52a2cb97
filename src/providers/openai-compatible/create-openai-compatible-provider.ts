/**
 * The `openai-compatible:` provider: the OpenAI Chat Completions path against any server that
 * speaks it (Ollama, vLLM, LM Studio, DeepSeek, Qwen, …).
 *
 * @module
 */
import { ProviderConfigError } from '../errors.ts';
import { createOpenAIFamilyProvider } from '../openai/create-openai-provider.ts';
import type { OpenAIConnection, OpenAIProviderOptions } from '../openai/create-openai-provider.ts';
import { readEnv } from '../shared/env.ts';
import type { Provider } from '../types.ts';

/** Options of {@link createOpenAICompatibleProvider}. */
export interface OpenAICompatibleProviderOptions extends Omit<OpenAIProviderOptions, 'api'> {
  /**
   * The server's base URL, e.g. `http://localhost:11434/v1`.
   * @defaultValue `process.env.OPENAI_COMPATIBLE_BASE_URL`, else `process.env.OPENAI_BASE_URL` (one of them is required)
   */
  baseURL?: string;
  /**
   * The key, if the server wants one (no `Authorization` header is sent without it).
   * @defaultValue `process.env.OPENAI_COMPATIBLE_API_KEY`; `process.env.OPENAI_API_KEY` only when the base URL is `OPENAI_BASE_URL`
   */
  apiKey?: string;
}

/**
 * Where a call goes, and with which key. A base URL of the provider's own (`baseURL`,
 * `OPENAI_COMPATIBLE_BASE_URL`) gets `apiKey` or `OPENAI_COMPATIBLE_API_KEY`, never
 * `OPENAI_API_KEY`: that key belongs to OpenAI (or its gateway at `OPENAI_BASE_URL`) and must not
 * leak to a third-party server. Only the fallback to `OPENAI_BASE_URL` takes `OPENAI_API_KEY` with it.
 */
function connectCompatible(options: OpenAICompatibleProviderOptions): OpenAIConnection | ProviderConfigError {
  const ownBaseURL = options.baseURL ?? readEnv('OPENAI_COMPATIBLE_BASE_URL');
  if (ownBaseURL !== undefined) {
    return {
      apiKey: options.apiKey ?? readEnv('OPENAI_COMPATIBLE_API_KEY'),
      baseURL: ownBaseURL.replace(/\/+$/, ''),
      keyVariable: 'OPENAI_COMPATIBLE_API_KEY',
    };
  }
  const openAIBaseURL = readEnv('OPENAI_BASE_URL');
  if (openAIBaseURL !== undefined) {
    return { apiKey: options.apiKey ?? readEnv('OPENAI_API_KEY'), baseURL: openAIBaseURL.replace(/\/+$/, ''), keyVariable: 'OPENAI_API_KEY' };
  }
  return new ProviderConfigError(
    'provider_base_url_missing',
    'OPENAI_COMPATIBLE_BASE_URL',
    "OPENAI_COMPATIBLE_BASE_URL is not set: the openai-compatible provider needs the server's URL (e.g. http://localhost:11434/v1 for Ollama). " +
      'Set OPENAI_COMPATIBLE_BASE_URL (and OPENAI_COMPATIBLE_API_KEY if the server wants a key), or pass `baseURL` to createOpenAICompatibleProvider().',
  );
}

/**
 * Creates the `openai-compatible:` provider: Chat Completions streaming against `baseURL`
 * (`OPENAI_COMPATIBLE_BASE_URL`, else `OPENAI_BASE_URL`). The key is optional
 * (`OPENAI_COMPATIBLE_API_KEY`; `OPENAI_API_KEY` only goes to `OPENAI_BASE_URL`); without one no
 * `Authorization` header is sent. `max_tokens` is sent rather than `max_completion_tokens`;
 * `delta.reasoning_content` / `delta.reasoning` (DeepSeek, vLLM, Ollama) become reasoning events.
 * Settings under `providerOptions['openai-compatible']` pass into the request body.
 * @param options - base URL, key, fetch, timeouts and retries
 * @returns the provider
 * @example
 * ```ts
 * const ollama = createOpenAICompatibleProvider({ baseURL: 'http://localhost:11434/v1' });
 * for await (const event of ollama({ model: 'qwen3:8b', messages: [{ role: 'user', content: '你好' }] })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.delta);
 * }
 * ```
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions = {}): Provider {
  const { apiKey: _apiKey, baseURL: _baseURL, ...rest } = options;
  return createOpenAIFamilyProvider({
    ...rest,
    api: 'chat',
    provider: 'openai-compatible',
    label: 'OpenAI-compatible server',
    connect: () => connectCompatible(options),
    maxTokensField: 'max_tokens',
  });
}
