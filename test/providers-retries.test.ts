/**
 * Retries happen only before the first event, honour Retry-After, stop after `maxRetries`; after
 * the first token a failure is an `error` event and the text is never duplicated. Configuration
 * errors name the variable to set and nothing is sent.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ProviderConfigError,
  createAnthropicProvider,
  createOpenAICompatibleProvider,
  createOpenAIProvider,
  isProviderError,
} from '../src/providers/index.ts';
import { isSluiceError, toErrorResponse } from '../src/core/errors.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayResponse, ReplayServer } from '../src/providers/replay/index.ts';
import { FIXTURES, collect, normalize, readMeta } from './providers-helpers.ts';

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Hello' }] };
const fixture = (folder: string, file: string): Promise<ReplayResponse> => readReplayFixture(new URL(`${folder}/`, FIXTURES), file);
const expected = (folder: string, file: string) => readMeta(folder).find((entry) => entry.file === file)!.expected;

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.unstubAllEnvs();
});

async function thrown(stream: AsyncIterable<unknown>): Promise<unknown> {
  return collect(stream as AsyncIterable<never>).then(
    () => expect.unreachable('the stream should have thrown'),
    (error: unknown) => error,
  );
}

describe('retries before the first event', () => {
  it('a 429 with retry-after-ms, then a stream: the answer streams once, after waiting about retry-after-ms', async () => {
    const rateLimited = await fixture('openai-chat', 'error-429-rate-limit.json');
    server = await createReplayServer({
      routes: {
        'POST /v1/chat/completions': [
          { ...rateLimited, headers: { ...rateLimited.headers, 'retry-after-ms': '300' } },
          await fixture('openai-chat', 'text-basic.sse'),
        ],
      },
    });
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1` });
    const result = normalize(await collect(openai(REQUEST)));
    expect(result.text).toBe(expected('openai-chat', 'text-basic.sse').text);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    const waited = second!.receivedAt - first!.closedAt!;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(800);
    // The same request both times.
    expect(second!.body).toBe(first!.body);
  });

  it('an Anthropic 429 with retry-after: 1, then a stream: one answer, after about one second', async () => {
    const rateLimited = await fixture('anthropic-messages', 'error-429-rate-limit.json');
    server = await createReplayServer({
      routes: {
        'POST /v1/messages': [
          { ...rateLimited, headers: { ...rateLimited.headers, 'retry-after': '1' } },
          await fixture('anthropic-messages', 'text.sse'),
        ],
      },
    });
    const anthropic = createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url });
    const result = normalize(await collect(anthropic(REQUEST)));
    expect(result.text).toBe(expected('anthropic-messages', 'text.sse').text);
    expect(server.requests).toHaveLength(2);
    const waited = server.requests[1]!.receivedAt - server.requests[0]!.closedAt!;
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(1500);
  });

  it.each([
    ['openai-chat', 'error-429-rate-limit.json', 'provider_rate_limited', 429],
    ['anthropic-messages', 'error-529-overloaded.json', 'provider_overloaded', 503],
  ] as const)('%s/%s: after maxRetries the ProviderError is thrown with its status', async (folder, file, code, status) => {
    const path = folder === 'openai-chat' ? '/v1/chat/completions' : '/v1/messages';
    server = await createReplayServer({ routes: { [`POST ${path}`]: await fixture(folder, file) } });
    const options = { apiKey: 'test-key', maxRetries: 2, initialRetryDelayMs: 5, maxRetryDelayMs: 20 };
    const provider =
      folder === 'openai-chat'
        ? createOpenAIProvider({ ...options, baseURL: `${server.url}/v1` })
        : createAnthropicProvider({ ...options, baseURL: server.url });
    const error = await thrown(provider(REQUEST));
    expect(isProviderError(error) && isSluiceError(error)).toBe(true);
    if (!isProviderError(error)) return;
    expect(error).toMatchObject({ name: 'ProviderError', code, status, statusCode: folder === 'openai-chat' ? 429 : 529, isRetryable: true });
    expect(server.requests).toHaveLength(3);
    // The server layer answers the real status with a JSON body.
    expect(toErrorResponse(error)).toEqual({ status, body: { error: { code, message: error.message } } });
  });

  it('a Retry-After longer than maxRetryAfterMs is not waited for: the 429 is thrown at once', async () => {
    // The fixture asks for 14 s.
    server = await createReplayServer({ routes: { 'POST /v1/messages': await fixture('anthropic-messages', 'error-429-rate-limit.json') } });
    const anthropic = createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url, maxRetryAfterMs: 1000 });
    const error = await thrown(anthropic(REQUEST));
    expect(error).toMatchObject({ code: 'provider_rate_limited', status: 429, retryAfterMs: 14_000 });
    expect(server.requests).toHaveLength(1);
  });

  it('an in-stream overloaded_error before any output is retried, and the answer streams once', async () => {
    const text = await fixture('anthropic-messages', 'text.sse');
    const body = Buffer.from(text.body).toString('utf8');
    const messageStart = body.slice(0, body.indexOf('\n\n') + 2);
    const overloaded = 'event: error\ndata: {"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"}}\n\n';
    server = await createReplayServer({ routes: { 'POST /v1/messages': [{ ...text, body: messageStart + overloaded }, text] } });
    const anthropic = createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url, initialRetryDelayMs: 5 });
    const result = normalize(await collect(anthropic(REQUEST)));
    expect(result.text).toBe(expected('anthropic-messages', 'text.sse').text);
    expect(result.finishReason).toBe('end_turn');
    expect(server.requests).toHaveLength(2);
  });

  it('a connection cut before the first event is retried', async () => {
    const text = await fixture('openai-chat', 'text-basic.sse');
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': [{ ...text, dropAfterBytes: 40 }, text] } });
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1`, initialRetryDelayMs: 5 });
    const result = normalize(await collect(openai(REQUEST)));
    expect(result.text).toBe(expected('openai-chat', 'text-basic.sse').text);
    expect(server.requests).toHaveLength(2);
  });

  it('a refused connection is retried, then thrown as provider_connection_failed (502)', async () => {
    const closed = await createReplayServer({ routes: {} });
    const url = closed.url;
    await closed.close();
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${url}/v1`, maxRetries: 1, initialRetryDelayMs: 5 });
    const error = await thrown(openai(REQUEST));
    expect(error).toMatchObject({ code: 'provider_connection_failed', status: 502, isRetryable: true, url: `${url}/v1/chat/completions` });
  });

  it('a 401 is not retried and is thrown as provider_auth_failed (502) naming the key variable', async () => {
    const body = JSON.stringify({ error: { message: 'Incorrect API key provided: sk-abc***xyz.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': { status: 401, body } } });
    const openai = createOpenAIProvider({ apiKey: 'wrong', baseURL: `${server.url}/v1` });
    const error = await thrown(openai(REQUEST));
    expect(error).toMatchObject({ code: 'provider_auth_failed', status: 502, statusCode: 401, isRetryable: false, responseBody: body });
    expect((error as Error).message).toContain('OPENAI_API_KEY');
    expect((error as Error).message).not.toContain('sk-abc');
    expect(server.requests).toHaveLength(1);
  });
});

describe('no retry after the first token', () => {
  it('a connection cut mid-answer ends with an error event; the text is not repeated and nothing is re-sent', async () => {
    const text = await fixture('openai-chat', 'text-basic.sse');
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': [{ ...text, dropAfterBytes: 2000 }, text] } });
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1`, initialRetryDelayMs: 5 });
    const events = await collect(openai(REQUEST));
    const result = normalize(events);
    const full = expected('openai-chat', 'text-basic.sse').text;
    expect(result.text.length).toBeGreaterThan(0);
    expect(full.startsWith(result.text) && result.text.length < full.length).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'provider_stream_interrupted', retryable: true });
    expect(server.requests).toHaveLength(1);
  });

  it('a server error inside the stream after text (the 500 of a 200 stream) ends with an error event, not a retry', async () => {
    server = await createReplayServer({
      routes: { 'POST /v1/chat/completions': [await fixture('openai-chat', 'mid-stream-error.sse'), await fixture('openai-chat', 'text-basic.sse')] },
    });
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1`, initialRetryDelayMs: 5 });
    const events = await collect(openai(REQUEST));
    expect(normalize(events).text).toBe(expected('openai-chat', 'mid-stream-error.sse').text);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'provider_server_error', status: 200, providerType: 'server_error' });
    expect(events.filter((event) => event.type === 'message-start')).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
  });
});

describe('configuration errors, before any byte is sent', () => {
  it.each([
    ['OPENAI_API_KEY', () => createOpenAIProvider({ baseURL: 'http://127.0.0.1:9/v1' })],
    ['ANTHROPIC_API_KEY', () => createAnthropicProvider({ baseURL: 'http://127.0.0.1:9' })],
  ] as const)('a missing %s is thrown from the first next(), naming the variable, with status 500', async (variable, create) => {
    vi.stubEnv(variable, '');
    const iterator = create()(REQUEST)[Symbol.asyncIterator]();
    const error = await iterator.next().then(
      () => expect.unreachable('next() should have thrown'),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ProviderConfigError);
    expect(error).toMatchObject({ code: 'provider_api_key_missing', status: 500, variable });
    expect((error as Error).message).toMatch(new RegExp(`^${variable} is not set: `));
  });

  it('openai-compatible needs OPENAI_COMPATIBLE_BASE_URL but no key, and sends no Authorization header without one', async () => {
    for (const name of ['OPENAI_COMPATIBLE_BASE_URL', 'OPENAI_COMPATIBLE_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_API_KEY']) vi.stubEnv(name, '');
    await expect(thrown(createOpenAICompatibleProvider()(REQUEST))).resolves.toMatchObject({
      code: 'provider_base_url_missing',
      status: 500,
      variable: 'OPENAI_COMPATIBLE_BASE_URL',
    });
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': await fixture('openai-chat', 'text-basic.sse') } });
    vi.stubEnv('OPENAI_COMPATIBLE_BASE_URL', `${server.url}/v1`);
    const result = normalize(await collect(createOpenAICompatibleProvider()(REQUEST)));
    expect(result.text).toBe(expected('openai-chat', 'text-basic.sse').text);
    expect(server.requests[0]?.headers['authorization']).toBeUndefined();
    expect(server.requests[0]?.json).toMatchObject({ model: 'test-model', stream: true });
  });

  it('OPENAI_API_KEY and OPENAI_BASE_URL from the environment reach the SDK', async () => {
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': await fixture('openai-chat', 'text-basic.sse') } });
    vi.stubEnv('OPENAI_API_KEY', 'env-key');
    vi.stubEnv('OPENAI_BASE_URL', `${server.url}/v1`);
    await collect(createOpenAIProvider()(REQUEST));
    expect(server.requests[0]?.headers['authorization']).toBe('Bearer env-key');
  });

  it('ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL from the environment reach the SDK', async () => {
    server = await createReplayServer({ routes: { 'POST /v1/messages': await fixture('anthropic-messages', 'text.sse') } });
    vi.stubEnv('ANTHROPIC_API_KEY', 'env-anthropic-key');
    vi.stubEnv('ANTHROPIC_BASE_URL', server.url);
    const result = normalize(await collect(createAnthropicProvider()(REQUEST)));
    expect(result.text).toBe(expected('anthropic-messages', 'text.sse').text);
    const { authorization, 'x-api-key': apiKey } = server.requests[0]!.headers;
    expect(apiKey === 'env-anthropic-key' || authorization === 'Bearer env-anthropic-key').toBe(true);
  });

  it('bad reliability options fail at the factory call with a RangeError', () => {
    expect(() => createOpenAIProvider({ maxRetries: -1 })).toThrow(RangeError);
    expect(() => createAnthropicProvider({ idleTimeoutMs: Number.NaN })).toThrow(/idleTimeoutMs/);
  });
});
