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
import { formatWithOptions, inspect } from 'node:util';
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

/**
 * Values a provider (or a proxy in front of it) put where its error type or code goes that are no
 * type or code: a host and port, an address and port, an organization id, an API key, mixed case.
 */
const NOT_TOKENS = ['internal.example:8443', '10.0.0.5:8443', 'org-SECRET123', 'sk-proj-AbCdEf0123456789abcdef', 'InvalidRequestError'];
const FIELDS = ['type', 'code'] as const;

/**
 * `leak-http-<field>-<i>`: an HTTP 400 error document with `NOT_TOKENS[i]` as its type or code (the
 * other one a real token); `leak-stream-<field>-<i>`: the same inside a 200 stream, after text.
 */
function leakAnswer(model: string): ReplayResponse | undefined {
  const match = /^leak-(http|stream)-(type|code)-(\d+)$/.exec(model);
  if (match === null) return undefined;
  const [, where, field, index] = match;
  const value = NOT_TOKENS[Number(index)]!;
  if (where === 'http') {
    return errorDocument(400, field === 'type' ? { message: 'Bad.', type: value, code: 'context_length_exceeded' } : { message: 'Bad.', type: 'invalid_request_error', code: value });
  }
  const error = field === 'type' ? { message: 'Upstream failed.', type: value, code: 'server_error' } : { message: 'Upstream failed.', type: 'server_error', code: value };
  return { status: 200, body: `${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'Sure' })}data: ${JSON.stringify({ error })}\n\n` };
}

/** What a client chooses as the model id, which the upstream echoes in its message: lines of its own for the server's log. */
const FORGED_MODEL = 'gpt-4o\n2026-12-08T00:00:00Z sluice: FORGED line\r2026-12-08T00:00:01Z sluice: FORGED cr\u2028FORGED ls\u2029FORGED ps\u0085FORGED nel';
/** The same with a body over the 64 KiB a provider reads of an error (it is cut there, and is no JSON then). */
const FORGED_MODEL_LONG_BODY = `${FORGED_MODEL} long`;
/**
 * The upstream's answer to them: the model id echoed in its message, and a body with more of it
 * (60 KB, or 70 KB for {@link FORGED_MODEL_LONG_BODY}).
 */
const forgedAnswer = (model: string): ReplayResponse => ({
  status: 404,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' },
    padding: `${model}\n`.repeat(Math.ceil((model === FORGED_MODEL ? 60_000 : 70_000) / (model.length + 1))),
  }),
});

let upstream: ReplayServer;
let server: TestServer;
/** A port nothing listens on. */
let closedPort: number;
const reported: unknown[] = [];

beforeAll(async () => {
  upstream = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': (request) => {
        const { model } = request.json as { model: string };
        if (model === FORGED_MODEL || model === FORGED_MODEL_LONG_BODY) return forgedAnswer(model);
        return ANSWERS[model] ?? leakAnswer(model) ?? errorDocument(404, { message: 'unknown model', type: 'not_found' });
      },
    },
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

describe('a provider’s type or code that is no lowercase snake_case identifier is not repeated to clients', () => {
  const cases = NOT_TOKENS.flatMap((value, index) => FIELDS.map((field) => [value, field, index] as const));

  it.each(cases)('HTTP 400 with %s as its %s: not in the JSON error', async (value, field, index) => {
    const response = await chat(`openai:leak-http-${field}-${index}`);
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).not.toContain(value);
    expectNoLeak(text);
    const shown = field === 'type' ? 'context_length_exceeded' : 'invalid_request_error';
    expect(JSON.parse(text)).toEqual({ error: { code: 'provider_invalid_request', message: `OpenAI answered HTTP 400 (${shown}).` } });
    // The log keeps it (the response body).
    await expectReportedOnce(value);
  });

  it.each(cases)('an error inside a 200 stream with %s as its %s: null in the event’s providerType / providerCode, not in its message', async (value, field, index) => {
    const response = await chat(`openai:leak-stream-${field}-${index}`);
    expect(response.status).toBe(200);
    const id = response.headers.get('x-stream-id');
    const text = await response.text();
    expect(text).not.toContain(value);
    expectNoLeak(text);
    const error = sseData(text).at(-1);
    expect(error).toEqual({
      type: 'error',
      code: 'provider_server_error',
      message: 'OpenAI reported an error mid-stream (server_error).',
      retryable: true,
      status: 200,
      providerType: field === 'type' ? null : 'server_error',
      providerCode: field === 'code' ? null : 'server_error',
    });
    await expectReportedOnce(value, id);
    // A resume reads what was stored: the same.
    const resumed = await (await fetch(`${server.url}/v1/streams/${id}`)).text();
    expect(resumed).not.toContain(value);
    expect(sseData(resumed).at(-1)).toEqual(error);
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

describe('the log line of a failed run: one line a client cannot break, bounded', () => {
  /** Every raw line break and separator a client or an upstream could use to start a line of its own. */
  // eslint-disable-next-line no-control-regex
  const LINE_BREAKS = /[\n\r\u2028\u2029\u0085\u000b\u000c]/;

  /** Runs `model` on a server of its own with the default onError; what console.error printed. */
  async function printedFor(model: string): Promise<{ printed: string[]; id: string | null; text: string }> {
    const models = createModelRegistry({ env: {}, providers: { openai: createOpenAIProvider({ apiKey: 'test-key', baseURL: `${upstream.url}/v1`, maxRetries: 0 }) } });
    const own = await startServer(createApp({ env: {}, models, onWarn: () => undefined }));
    const calls: unknown[][] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void calls.push(args));
    try {
      const response = await fetch(`${own.url}/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const id = response.headers.get('x-stream-id');
      const text = await response.text();
      await vi.waitFor(() => expect(calls).toHaveLength(1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // console.error formats its arguments as util.format does (util.inspect for an error).
      return { printed: calls.map((args) => formatWithOptions({}, ...args)), id, text };
    } finally {
      spy.mockRestore();
      await own.close();
    }
  }

  it('a model id with \\n, \\r, U+2028, U+2029 and NEL that the upstream echoes (a 60 KB body): one escaped line under 8 KB', async () => {
    const { printed, id, text } = await printedFor(`openai:${FORGED_MODEL}`);
    expect(text).not.toContain('FORGED');
    expect(printed).toHaveLength(1);
    const [entry] = printed as [string];
    expect(entry).not.toMatch(LINE_BREAKS);
    expect(entry.length).toBeLessThan(8_000);
    expect(entry.startsWith(`[RunFailedError: sluice: stream ${id} failed (provider_invalid_request): "OpenAI answered HTTP 404 (invalid_request_error): The model \``)).toBe(true);
    // The detail, escaped: the forged lines are inside the quoted value.
    expect(entry).toContain('gpt-4o\\n2026-12-08T00:00:00Z sluice: FORGED line\\r2026-12-08T00:00:01Z sluice: FORGED cr\\u2028FORGED ls\\u2029FORGED ps\\u0085FORGED nel');
    // The upstream status, the URL and the start of the body, which says how long it was.
    expect(entry).toContain(` status=404 url="${upstream.url}/v1/chat/completions" responseBody="{\\"error\\":{\\"message\\":\\"The model \`gpt-4o\\\\n2026`);
    expect(entry).toMatch(/"… \(6\d{4} characters\)\]$/);
  });

  it('the gateway’s non-streaming completion (no run): the upstream text only inside one escaped line', async () => {
    const models = createModelRegistry({ env: {}, providers: { openai: createOpenAIProvider({ apiKey: 'test-key', baseURL: `${upstream.url}/v1`, maxRetries: 0 }) } });
    const own = await startServer(createApp({ env: {}, models, onWarn: () => undefined }));
    const calls: unknown[][] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void calls.push(args));
    try {
      const response = await fetch(`${own.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: `openai:${FORGED_MODEL}`, stream: false, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(400);
      expect(await response.text()).not.toContain('FORGED');
      await vi.waitFor(() => expect(calls).toHaveLength(1));
      const printed = formatWithOptions({}, ...calls[0]!);
      // The server's own error with its frames, then its cause: the run's line, the forged lines escaped within it.
      expect(printed).toContain('[cause]: [RunFailedError: sluice: stream chatcmpl-');
      expect(printed).toContain('gpt-4o\\n2026-12-08T00:00:00Z sluice: FORGED line\\r');
      for (const line of printed.split('\n')) expect(line.includes('FORGED') ? line.trimStart().startsWith('[cause]: [RunFailedError') : true).toBe(true);
      expect(printed).not.toMatch(/[\r\u2028\u2029\u0085]/);
      expect(printed.length).toBeLessThan(12_000);
    } finally {
      spy.mockRestore();
      await own.close();
    }
  });

  it('a body over 64 KiB (70 KB: cut where the provider stops reading, no JSON): one escaped line under 8 KB', async () => {
    const { printed, id, text } = await printedFor(`openai:${FORGED_MODEL_LONG_BODY}`);
    expect(text).not.toContain('FORGED');
    expect(printed).toHaveLength(1);
    const [entry] = printed as [string];
    expect(entry).not.toMatch(LINE_BREAKS);
    expect(entry.length).toBeLessThan(8_000);
    expect(entry).toContain(`[RunFailedError: sluice: stream ${id} failed (provider_upstream_error): `);
    // The body is JSON cut short: its own escapes (`\r`) escaped once more, U+2028 (which JSON leaves as it is) escaped.
    expect(entry).toContain('FORGED line\\\\r2026-12-08T00:00:01Z sluice: FORGED cr\\u2028FORGED ls');
    // 64 KiB of UTF-8, fewer characters.
    expect(entry).toMatch(/"… \(6\d{4} characters\)\]$/);
  });

  it('the RunFailedError: one line as util.inspect prints it; the whole detail and the ProviderError for code of your own', async () => {
    const response = await chat(`openai:${FORGED_MODEL}`);
    expect(response.ok).toBe(false);
    await response.text();
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    const report = reported[0] as RunFailedError;
    expect(report).toBeInstanceOf(RunFailedError);
    for (const rendered of [inspect(report), inspect(report, { depth: Infinity }), String(report), report.message, report.stack ?? '']) {
      expect(rendered).not.toMatch(LINE_BREAKS);
      expect(rendered.length).toBeLessThan(8_000);
    }
    expect(report.cause).toBeUndefined();
    expect(report.code).toBe('provider_invalid_request');
    expect(report.detail).toBe(`OpenAI answered HTTP 404 (invalid_request_error): The model \`${FORGED_MODEL}\` does not exist or you do not have access to it.`);
    expect(report.error).toMatchObject({ name: 'ProviderError', code: 'provider_invalid_request', statusCode: 404, providerCode: 'model_not_found' });
    expect((report.error as { responseBody: string }).responseBody.length).toBeGreaterThan(60_000);
  });
});

describe('RunFailedError', () => {
  it('any detail: escaped, cut whole escapes at a time, its length noted; an internal error’s frames, escaped', () => {
    const thrown = new TypeError('bad\ninput');
    const report = new RunFailedError('s1', { code: 'internal_error', detail: `\u0001${'\u202e\ud800😀'.repeat(3000)}`, error: thrown });
    const printed = inspect(report);
    expect(printed).not.toMatch(/[\n\r\u2028\u2029\u202e]/);
    expect(printed.length).toBeLessThan(8_000);
    expect(printed).toMatch(/^\[RunFailedError: sluice: stream s1 failed \(internal_error\): "\\u0001(\\u202e\\ud800😀)+"… \(12001 characters\) stack="at /);
    expect(report.detail).toHaveLength(12_001);
    expect(report.error).toBe(thrown);
    expect(report.streamId).toBe('s1');
    // Nothing but the line: no enumerable property, no cause.
    expect(Object.keys(report)).toEqual(['name']);
    expect(report.cause).toBeUndefined();
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
