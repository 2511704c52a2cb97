/**
 * The `openai-compatible:` provider: the OpenAI Chat Completions path against any server that
 * speaks it (Ollama, vLLM, LM Studio, DeepSeek, Qwen, …).
 *
 * @module
 */
import { createOpenAIFamilyProvider } from '../openai/create-openai-provider.ts';
import type { OpenAIProviderOptions } from '../openai/create-openai-provider.ts';
import type { Provider } from '../types.ts';

/** Options of {@link createOpenAICompatibleProvider}. */
export interface OpenAICompatibleProviderOptions extends Omit<OpenAIProviderOptions, 'api'> {
  /** The server's base URL, e.g. `http://localhost:11434/v1`. @defaultValue `process.env.OPENAI_BASE_URL` (required) */
  baseURL?: string;
  /** The key, if the server wants one (no `Authorization` header is sent without it). @defaultValue `process.env.OPENAI_API_KEY` */
  apiKey?: string;
}

/**
 * Creates the `openai-compatible:` provider: Chat Completions streaming against `baseURL`
 * (`OPENAI_BASE_URL`). The key is optional; `max_tokens` is sent rather than
 * `max_completion_tokens`; `delta.reasoning_content` / `delta.reasoning` (DeepSeek, vLLM,
 * Ollama) become reasoning events. Settings under `providerOptions['openai-compatible']` pass
 * into the request body.
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
  return createOpenAIFamilyProvider({
    ...options,
    api: 'chat',
    provider: 'openai-compatible',
    label: 'OpenAI-compatible server',
    requireApiKey: false,
    requireBaseURL: true,
    maxTokensField: 'max_tokens',
  });
}
