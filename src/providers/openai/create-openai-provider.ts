/**
 * The `openai:` provider: Chat Completions streaming by default, the Responses API on request.
 *
 * @module
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type OpenAIClient from 'openai';
import { importOptional } from '../../core/require-optional.ts';
import { ProviderConfigError } from '../errors.ts';
import { readEnv } from '../shared/env.ts';
import { failedStream } from '../shared/failed-stream.ts';
import { lazySdk } from '../shared/lazy-sdk.ts';
import { resolveReliabilityOptions, runProviderStream } from '../shared/run-provider-stream.ts';
import type { ReliabilityOptions } from '../shared/run-provider-stream.ts';
import type { ChatRequest, Provider } from '../types.ts';
import { toOpenAIChatRequest } from './openai-chat-request.ts';
import { createOpenAIChatStreamMapper } from './openai-chat-stream-mapper.ts';
import { toOpenAIResponsesRequest } from './openai-responses-request.ts';
import { createOpenAIResponsesStreamMapper } from './openai-responses-stream-mapper.ts';

/** The OpenAI SDK, loaded on the first call (an `openai-compatible:` provider uses it too). */
const openaiSdk = lazySdk(() => importOptional('openai', () => import('openai')));

/** Which OpenAI API a call uses. */
export type OpenAIApi = 'chat' | 'responses';

/** Options of {@link createOpenAIProvider}. */
export interface OpenAIProviderOptions extends ReliabilityOptions {
  /** The API key. @defaultValue `process.env.OPENAI_API_KEY` */
  apiKey?: string;
  /** The API's base URL (a gateway, a proxy, a test server). @defaultValue `process.env.OPENAI_BASE_URL`, else `https://api.openai.com/v1` */
  baseURL?: string;
  /** The fetch the SDK uses. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /**
   * The default API: `chat` (Chat Completions) or `responses` (Responses API, with reasoning
   * summaries). A call picks another with `providerOptions.openai.api`. @defaultValue 'chat'
   */
  api?: OpenAIApi;
}

/** Where an OpenAI-family call goes and with which key, read at each call (so the environment may change). */
export interface OpenAIConnection {
  /** The key, or undefined to send no `Authorization` header. */
  apiKey: string | undefined;
  /** The base URL, without a trailing slash. */
  baseURL: string;
  /** The variable holding the key, named when the key is rejected. */
  keyVariable: string;
}

/** How an OpenAI-family provider differs (OpenAI itself, or an OpenAI-compatible server). */
export interface OpenAIFamilySettings extends Omit<OpenAIProviderOptions, 'apiKey' | 'baseURL'> {
  /** `openai` or `openai-compatible`: the model prefix and the `providerOptions` key. */
  provider: string;
  /** The name in messages. */
  label: string;
  /** The base URL and key of a call, or the configuration error that stops it before any byte is sent. */
  connect(): OpenAIConnection | ProviderConfigError;
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * The `openai:` connection: `apiKey` or `OPENAI_API_KEY` (required), `baseURL` or `OPENAI_BASE_URL`,
 * else OpenAI's own API.
 */
function connectOpenAI(options: OpenAIProviderOptions): OpenAIConnection | ProviderConfigError {
  const apiKey = options.apiKey ?? readEnv('OPENAI_API_KEY');
  if (apiKey === undefined) {
    return new ProviderConfigError(
      'provider_api_key_missing',
      'OPENAI_API_KEY',
      'OPENAI_API_KEY is not set: the OpenAI provider needs an API key. Set OPENAI_API_KEY or pass `apiKey` to createOpenAIProvider().',
    );
  }
  const baseURL = options.baseURL ?? readEnv('OPENAI_BASE_URL') ?? OPENAI_DEFAULT_BASE_URL;
  return { apiKey, baseURL: baseURL.replace(/\/+$/, ''), keyVariable: 'OPENAI_API_KEY' };
}

/**
 * The shared body of the `openai` and `openai-compatible` providers.
 * @param settings - the provider's differences and the user's options
 * @returns the provider
 */
export function createOpenAIFamilyProvider(settings: OpenAIFamilySettings): Provider {
  const reliability = resolveReliabilityOptions(settings);
  const defaultApi = settings.api ?? 'chat';
  if (defaultApi !== 'chat' && defaultApi !== 'responses') {
    throw new TypeError(`Expected \`api\` to be 'chat' or 'responses', got \`${String(defaultApi)}\`.`);
  }
  return (request: ChatRequest, { signal } = {}) => {
    const connection = settings.connect();
    if (connection instanceof ProviderConfigError) return failedStream(connection);
    const { apiKey, baseURL, keyVariable } = connection;
    const requested = request.providerOptions?.[settings.provider]?.['api'];
    const api = requested === 'responses' || requested === 'chat' ? requested : defaultApi;
    const model = `${settings.provider}:${request.model}`;
    const common = {
      signal,
      reliability,
      fetch: settings.fetch ?? globalThis.fetch,
      context: { provider: settings.provider, label: settings.label, url: `${baseURL}${api === 'chat' ? '/chat/completions' : '/responses'}`, keyVariable },
    };
    return openaiSdk.stream(({ default: OpenAI }) => {
      const client = (fetchForCall: typeof fetch): OpenAIClient =>
        new OpenAI({
          // Local servers need no key; the SDK needs a value, and the header is removed below.
          apiKey: apiKey ?? 'sluice-no-key',
          baseURL,
          fetch: fetchForCall,
          // sluice retries itself, only before the first event (see runProviderStream).
          maxRetries: 0,
          defaultHeaders: { ...settings.headers, ...(apiKey === undefined ? { Authorization: null } : {}) },
        });
      const mapperOptions = { model, provider: settings.provider, label: settings.label, url: common.context.url };
      if (api === 'responses') {
        return runProviderStream<ResponseStreamEvent>({
          ...common,
          open: (attemptSignal, fetchForCall) =>
            client(fetchForCall).responses.create(toOpenAIResponsesRequest(request, settings.provider), { signal: attemptSignal }),
          createMapper: () => createOpenAIResponsesStreamMapper(mapperOptions),
        });
      }
      return runProviderStream<ChatCompletionChunk>({
        ...common,
        open: (attemptSignal, fetchForCall) =>
          client(fetchForCall).chat.completions.create(toOpenAIChatRequest(request, settings.provider, settings.maxTokensField), {
            signal: attemptSignal,
          }),
        createMapper: () => createOpenAIChatStreamMapper(mapperOptions),
      });
    });
  };
}

/**
 * Creates the `openai:` provider. Chat Completions by default (`stream_options.include_usage`
 * on); `api: 'responses'` or a call's `providerOptions.openai.api = 'responses'` selects the
 * Responses API. The SDK's own retries are off; sluice retries before the first event only.
 * @param options - key, base URL, fetch, timeouts and retries
 * @returns the provider
 * @example
 * ```ts
 * const openai = createOpenAIProvider({ maxRetries: 2, idleTimeoutMs: 30_000 });
 * for await (const event of openai({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.delta);
 * }
 * ```
 */
export function createOpenAIProvider(options: OpenAIProviderOptions = {}): Provider {
  const { apiKey: _apiKey, baseURL: _baseURL, ...rest } = options;
  return createOpenAIFamilyProvider({
    ...rest,
    provider: 'openai',
    label: 'OpenAI',
    connect: () => connectOpenAI(options),
    maxTokensField: 'max_completion_tokens',
  });
}
