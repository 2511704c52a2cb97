/**
 * The `anthropic:` provider: Messages API streaming.
 *
 * @module
 */
import type { MessageCreateParamsStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { importOptional } from '../../core/require-optional.ts';
import { ProviderConfigError } from '../errors.ts';
import { readEnv } from '../shared/env.ts';
import { failedStream } from '../shared/failed-stream.ts';
import { lazySdk } from '../shared/lazy-sdk.ts';
import { resolveReliabilityOptions, runProviderStream } from '../shared/run-provider-stream.ts';
import type { ReliabilityOptions } from '../shared/run-provider-stream.ts';
import type { ChatRequest, Provider } from '../types.ts';
import { createAnthropicStreamMapper } from './anthropic-stream-mapper.ts';
import { messagesWithPrefill } from '../shared/continuation.ts';
import { convertToAnthropicMessages, convertToAnthropicToolChoice, convertToAnthropicTools } from './convert-to-anthropic-messages.ts';

/** The Anthropic SDK, loaded on the first call. */
const anthropicSdk = lazySdk(() => importOptional('@anthropic-ai/sdk', () => import('@anthropic-ai/sdk')));

/** Options of {@link createAnthropicProvider}. */
export interface AnthropicProviderOptions extends ReliabilityOptions {
  /** The API key. @defaultValue `process.env.ANTHROPIC_API_KEY` */
  apiKey?: string;
  /** The API's base URL. @defaultValue `process.env.ANTHROPIC_BASE_URL`, else `https://api.anthropic.com` */
  baseURL?: string;
  /** The fetch the SDK uses. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch;
  /** Extra headers on every request (e.g. `anthropic-beta`). */
  headers?: Record<string, string>;
  /** `max_tokens` when the request sets no `maxOutputTokens` (the API requires one). @defaultValue 4096 */
  defaultMaxOutputTokens?: number;
}

const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/**
 * The streaming Messages request for `request`. `providerOptions.anthropic` passes through into
 * the body (e.g. `thinking: { type: 'enabled', budget_tokens: 2048 }`); with thinking on, the
 * budget is added to `max_tokens`, which must exceed it.
 * @param request - the chat request
 * @param defaultMaxTokens - `max_tokens` when the request sets none
 * @returns the body
 */
export function toAnthropicRequest(request: ChatRequest, defaultMaxTokens: number): MessageCreateParamsStreaming {
  const extra = request.providerOptions?.['anthropic'] ?? {};
  const { system, messages } = convertToAnthropicMessages(messagesWithPrefill(request));
  const tools = convertToAnthropicTools(request.tools);
  const toolChoice = tools ? convertToAnthropicToolChoice(request.toolChoice) : undefined;
  const thinking = extra['thinking'] as { type?: string; budget_tokens?: number } | undefined;
  const budget = thinking?.type === 'enabled' && typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0;
  return {
    ...extra,
    model: request.model,
    max_tokens: (request.maxOutputTokens ?? defaultMaxTokens) + budget,
    messages,
    stream: true,
    ...(system === undefined ? {} : { system }),
    ...(tools ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  };
}

/**
 * Creates the `anthropic:` provider (Messages API, `stream: true`). Text, extended thinking with
 * its signature, `tool_use` with streamed input, usage and stop reasons; `ping` is ignored; an
 * `error` event after the 200 (e.g. `overloaded_error`) becomes an `error` AgentEvent, or is
 * retried when nothing was emitted yet.
 * @param options - key, base URL, fetch, timeouts and retries
 * @returns the provider
 * @example
 * ```ts
 * const anthropic = createAnthropicProvider();
 * const events = anthropic({
 *   model: 'claude-haiku-4-5',
 *   messages: [{ role: 'user', content: 'What is 17 × 23?' }],
 *   providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 2048 } } },
 * });
 * for await (const event of events) console.log(event);
 * ```
 */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): Provider {
  const reliability = resolveReliabilityOptions(options);
  const defaultMaxTokens = options.defaultMaxOutputTokens ?? 4096;
  return (request, { signal } = {}) => {
    const apiKey = options.apiKey ?? readEnv('ANTHROPIC_API_KEY');
    if (apiKey === undefined) {
      return failedStream(
        new ProviderConfigError(
          'provider_api_key_missing',
          'ANTHROPIC_API_KEY',
          'ANTHROPIC_API_KEY is not set: the Anthropic provider needs an API key. Set ANTHROPIC_API_KEY or pass `apiKey` to createAnthropicProvider().',
        ),
      );
    }
    const baseURL = (options.baseURL ?? readEnv('ANTHROPIC_BASE_URL') ?? ANTHROPIC_BASE_URL).replace(/\/+$/, '');
    const url = `${baseURL}/v1/messages`;
    return anthropicSdk.stream(({ default: Anthropic }) => runProviderStream<RawMessageStreamEvent>({
      signal,
      reliability,
      context: { provider: 'anthropic', label: 'Anthropic', url, keyVariable: 'ANTHROPIC_API_KEY' },
      fetch: options.fetch ?? globalThis.fetch,
      async open(attemptSignal, fetchForCall) {
        const client = new Anthropic({
          apiKey,
          baseURL,
          fetch: fetchForCall,
          // sluice retries itself, only before the first event (see runProviderStream).
          maxRetries: 0,
          ...(options.headers ? { defaultHeaders: options.headers } : {}),
        });
        return client.messages.create(toAnthropicRequest(request, defaultMaxTokens), { signal: attemptSignal });
      },
      createMapper: () => createAnthropicStreamMapper({ model: `anthropic:${request.model}`, url }),
    }));
  };
}
