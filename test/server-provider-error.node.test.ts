/**
 * A model provider's failure reaches the server's clients as its stable code, `retryable`, its
 * status and a message in sluice's own words: never the provider's own text (organization ids,
 * internal host names, request ids) nor the connection's error (an internal address of a base
 * URL). The server's log gets the whole detail, once per failed run, with the stream id.
 *
 * The provider is the real OpenAI provider against the replay server (HTTP 400 and 500 error
 * documents, an error inside a 200 stream) and the OpenAI-compatible provider against a closed
 * port (connection refused).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpenAICompatibleProvider } from '../src/providers/openai-compatible/create-openai-compatible-provider.ts';
import { createOpenAIProvider } from '../src/providers/openai/create-openai-provider.ts';
import { createReplayServer, type ReplayResponse, type ReplayServer } from '../src/providers/replay/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { publicErrorEvent, RunFailedError } from '../src/server/public-errors.ts';
import { startServer, type TestServer } from './helpers/http.ts';

/** What the upstream says and a client must never see. */
const SECRET = 'org-SECRET123';
const INTERNAL = 'internal.example:8443';
const MARKER = `${SECRET} ${INTERNAL}`;

const errorDocument = (status: number, error: Record<string, unknown>): ReplayResponse => ({
  status,
  body: JSON.stringify({ error }),
  headers: { 'content-type': 'application/json' },
});

const chunk = (delta: Record<string, unknown>): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;

/** The upstream's answer for each model name. */
const ANSWERS: Record<string, ReplayResponse> = {
  'bad-request': errorDocument(400, {
    message: `This model's maximum context length is 128000 tokens (organization ${SECRET}, deployment gpt-prod-eu at ${INTERNAL}).`,
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  }),
  'server-error': errorDocument(500, { message: `The server had an error processing your request (${MARKER}, request req_123).`, type: 'server_error', code: null }),
  // A provider that puts free text where its code goes: the code is not repeated either.
  'free-text-code': errorDocument(400, { message: 'Bad.', type: 'invalid_request_error', code: `quota of ${MARKER} exceeded` }),
  'mid-stream': {
    status: 200,
    body: `${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'Sure' })}data: ${JSON.stringify({ error: { message: `Upstream overloaded at ${MARKER}.`, type: 'server_error', code: null } })}\n\n`,
  },
};

let upstream: ReplayServer;
let server: TestServer;
/** A port nothing listens on. */
let closedPort: number;
const reported: unknown[] = [];

beforeAll(async () => {
  upstream = await createReplayServer({
    routes: { 'POST /v1/chat/completions': (request) => ANSWERS[(request.json as { model: string }).model] ?? errorDocument(404, { message: 'unknown model', type: 'not_found' }) },
  });
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const models = createModelRegistry({
    env: {},
    providers: {
      openai: createOpenAIProvider({ apiKey: 'test-key', baseURL: `${upstream.url}/v1`, maxRetries: 0 }),
      'openai-compatible': createOpenAICompatibleProvider({ baseURL: `http://127.0.0.1:${closedPort}/v1`, maxRetries: 0 }),
    },
  });
  server = await startServer(createApp({ env: {}, models, onError: (error) => reported.push(error), onWarn: () => undefined }));
});

afterAll(async () => {
  await server.close();
  await upstream.close();
});

afterEach(() => {
  reported.length = 0;
});

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const chat = (model: string): Promise<Response> => post('/v1/chat', { model, messages: [{ role: 'user', content: 'hi' }] });
const uiChat = (model: string): Promise<Response> =>
  post('/api/chat', { id: `chat-${model}-${Math.random()}`, model, messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] });

/** Native SSE events' data, in order. */
function sseData(text: string): Record<string, unknown>[] {
  return text
    .split('\n\n')
    .flatMap((block) => block.split('\n').filter((line) => line.startsWith('data: ')))
    .map((line) => line.slice(6))
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data) as Record<string, unknown>);
}

/** Asserts that nothing of the upstream's text or the connection's detail is in `text`. */
function expectNoLeak(text: string): void {
  expect(text).not.toContain('SECRET123');
  expect(text).not.toContain('internal.example');
  expect(text).not.toContain('req_123');
  expect(text).not.toContain('gpt-prod-eu');
  expect(text).not.toContain('ECONNREFUSED');
  expect(text).not.toContain(String(closedPort));
}

/** The server's log: one report for the run, naming its stream, with the whole detail. */
async function expectReportedOnce(detail: string, streamId?: string | null): Promise<void> {
  // The run reports as it stores its error; a response may be read before that returns.
  await vi.waitFor(() => expect(reported).toHaveLength(1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(reported).toHaveLength(1);
  const [error] = reported;
  expect(error).toBeInstanceOf(RunFailedError);
  if (streamId) expect((error as RunFailedError).streamId).toBe(streamId);
  expect((error as RunFailedError).message).toContain(`sluice: stream ${(error as RunFailedError).streamId} failed`);
  // What console.error prints (the default onError): the message, the provider error as the cause.
  expect(inspect(error)).toContain(detail);
}

describe('POST /v1/chat: a provider failure before the first event is a JSON error without the upstream text', () => {
  it('HTTP 400: the code, the status and the provider’s type and code; the detail is in the log', async () => {
    const response = await chat('openai:bad-request');
    expect(response.status).toBe(400);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({
      error: { code: 'provider_invalid_request', message: 'OpenAI answered HTTP 400 (invalid_request_error, context_length_exceeded).' },
    });
    await expectReportedOnce(`organization ${SECRET}, deployment gpt-prod-eu at ${INTERNAL}`);
  });

  it('HTTP 500: 502 provider_server_error, logged once (not again when the first response reads it back)', async () => {
    const response = await chat('openai:server-error');
    expect(response.status).toBe(502);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({ error: { code: 'provider_server_error', message: 'OpenAI answered HTTP 500 (server_error).' } });
    await expectReportedOnce(MARKER);
  });

  it('free text where the provider’s code goes is not repeated', async () => {
    const response = await chat('openai:free-text-code');
    expect(response.status).toBe(400);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({ error: { code: 'provider_invalid_request', message: 'OpenAI answered HTTP 400 (invalid_request_error).' } });
    await expectReportedOnce(`quota of ${MARKER} exceeded`);
  });

  it('connection refused: provider_connection_failed without the address or the socket error', async () => {
    const response = await chat('openai-compatible:llama');
    expect(response.status).toBe(502);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({ error: { code: 'provider_connection_failed', message: 'Could not connect to OpenAI-compatible server.' } });
    // The address the server called, and the connection's error.
    await expectReportedOnce(`Could not reach OpenAI-compatible server at http://127.0.0.1:${closedPort}/v1/chat/completions: Connection error.`);
  });
});

describe('an error inside the provider’s stream is an error event without the upstream text', () => {
  it('POST /v1/chat: the error event keeps code, retryable, status and the tokens; a resume reads the same', async () => {
    const response = await chat('openai:mid-stream');
    expect(response.status).toBe(200);
    const id = response.headers.get('x-stream-id');
    const text = await response.text();
    expectNoLeak(text);
    const error = sseData(text).at(-1);
    expect(error).toEqual({
      type: 'error',
      code: 'provider_server_error',
      message: 'OpenAI reported an error mid-stream (server_error).',
      retryable: true,
      status: 200,
      providerType: 'server_error',
      providerCode: null,
    });
    await expectReportedOnce(`Upstream overloaded at ${MARKER}.`, id);
    // The store holds what clients may see: every later reader gets the same.
    const resumed = await (await fetch(`${server.url}/v1/streams/${id}`)).text();
    expectNoLeak(resumed);
    expect(sseData(resumed).at(-1)).toEqual(error);
  });

  it('POST /v1/ag-ui: RUN_ERROR carries the code and the public message', async () => {
    const response = await post('/v1/ag-ui', {
      threadId: 't1',
      runId: 'r1',
      messages: [{ id: 'u1', role: 'user', content: 'hi' }],
      tools: [],
      context: [],
      state: {},
      forwardedProps: { model: 'openai:mid-stream' },
    });
    const text = await response.text();
    expectNoLeak(text);
    expect(sseData(text).at(-1)).toMatchObject({ type: 'RUN_ERROR', code: 'provider_server_error', message: 'OpenAI reported an error mid-stream (server_error).' });
    await expectReportedOnce(MARKER);
  });
});

describe('POST /api/chat (AI SDK UI message stream)', () => {
  it('a failure before the first event: a JSON error without the upstream text', async () => {
    const response = await uiChat('openai:server-error');
    expect(response.status).toBe(502);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({ error: { code: 'provider_server_error', message: 'OpenAI answered HTTP 500 (server_error).' } });
    await expectReportedOnce(MARKER);
  });

  it('connection refused: no address in the JSON error', async () => {
    const response = await uiChat('openai-compatible:llama');
    expect(response.status).toBe(502);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'provider_connection_failed' } });
    await expectReportedOnce(`127.0.0.1:${closedPort}`);
  });

  it('a failure mid-stream: the error chunk’s errorText is the public message', async () => {
    const response = await uiChat('openai:mid-stream');
    expect(response.status).toBe(200);
    const text = await response.text();
    expectNoLeak(text);
    expect(sseData(text)).toContainEqual({ type: 'error', errorText: 'OpenAI reported an error mid-stream (server_error).' });
    await expectReportedOnce(MARKER);
  });
});

describe('POST /v1/chat/completions (the gateway, no run)', () => {
  const completion = (model: string, stream: boolean): Promise<Response> => post('/v1/chat/completions', { model, stream, messages: [{ role: 'user', content: 'hi' }] });

  it('non-streaming, HTTP 400: a JSON error without the upstream text; the error is logged with its detail', async () => {
    const response = await completion('openai:bad-request', false);
    expect(response.status).toBe(400);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'provider_invalid_request', message: 'OpenAI answered HTTP 400 (invalid_request_error, context_length_exceeded).' } });
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    expect(inspect(reported[0])).toContain(SECRET);
  });

  it('non-streaming, an error mid-stream: the public message; the log has the provider’s', async () => {
    const response = await completion('openai:mid-stream', false);
    const text = await response.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'provider_server_error', message: 'OpenAI reported an error mid-stream (server_error).' } });
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    expect(inspect(reported[0])).toContain(MARKER);
  });

  it('streaming: no upstream text in the chunks', async () => {
    const response = await completion('openai:mid-stream', true);
    const text = await response.text();
    expectNoLeak(text);
    await expectReportedOnce(MARKER);
  });
});

describe('the default log', () => {
  it('console.error gets the provider’s message and the stream id', async () => {
    const models = createModelRegistry({ env: {}, providers: { openai: createOpenAIProvider({ apiKey: 'test-key', baseURL: `${upstream.url}/v1`, maxRetries: 0 }) } });
    const own = await startServer(createApp({ env: {}, models, onWarn: () => undefined }));
    const printed: unknown[][] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(args));
    try {
      const response = await fetch(`${own.url}/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openai:mid-stream', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const id = response.headers.get('x-stream-id');
      expectNoLeak(await response.text());
      await vi.waitFor(() => expect(printed).toHaveLength(1));
      const line = printed[0]!.map((arg) => inspect(arg)).join(' ');
      expect(line).toContain(MARKER);
      expect(line).toContain(`stream ${id}`);
    } finally {
      spy.mockRestore();
      await own.close();
    }
  });
});

describe('publicErrorEvent (the rule the run applies to each error event)', () => {
  it('an event with a provider code that no ProviderError made (a copy, a custom provider): the sentence from its fields', () => {
    const event = { type: 'error', code: 'provider_rate_limited', message: `Limit of ${MARKER}.`, retryable: true, status: 429, providerType: 'tokens', providerCode: `see ${MARKER}` } as const;
    const shown = publicErrorEvent({ ...event });
    expect(shown.event).toEqual({ ...event, message: 'The model provider answered HTTP 429 (tokens).', providerCode: null });
    expect(shown.hidden).toEqual({ code: 'provider_rate_limited', detail: `Limit of ${MARKER}.` });
  });

  it('other events are sluice’s own words: as they are, and not reported (internal_error is reported)', () => {
    const own = { type: 'error', code: 'agent_step_incomplete', message: 'The model’s stream ended without `finish` in step 1.', retryable: false } as const;
    expect(publicErrorEvent(own)).toEqual({ event: own });
    const config = { type: 'error', code: 'provider_api_key_missing', message: 'Set OPENAI_API_KEY.', retryable: false } as const;
    expect(publicErrorEvent(config)).toEqual({ event: config });
    const internal = { type: 'error', code: 'internal_error', message: 'The agent failed because of an internal error.', retryable: false } as const;
    expect(publicErrorEvent(internal)).toEqual({ event: internal, hidden: { code: 'internal_error', detail: internal.message } });
  });
});
