/**
 * A model provider's failure before the first byte of a response is answered with the status the
 * server documents for the failure's code (502 for an upstream 500 or 401, 503 for an upstream
 * 529, 503 for an overload …), never the upstream's own status, on every path: plain text after a
 * tool step (the second model call fails), a non-streaming completion. The `error` event itself
 * keeps the upstream's status (`ErrorEvent.status`) for the formats that carry it.
 *
 * The provider is the real OpenAI provider against the replay server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from '../src/providers/openai/create-openai-provider.ts';
import { createReplayServer, type ReplayResponse, type ReplayServer } from '../src/providers/replay/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { ndjsonLines, sseFrames } from './helpers/sse-events.ts';

const errorDocument = (status: number, error: Record<string, unknown>, extra: Partial<ReplayResponse> = {}): ReplayResponse => ({
  status,
  body: JSON.stringify({ error }),
  headers: { 'content-type': 'application/json' },
  ...extra,
});

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;

/** The first model call of an agent run: a calculator call, no text. */
const TOOL_CALL: ReplayResponse = {
  status: 200,
  body:
    chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'calculator', arguments: '' } }] }) +
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expression":"2+2"}' } }] }) +
    chunk({}, 'tool_calls') +
    'data: [DONE]\n\n',
};

/** The upstream's failure of the second model call (after the tool step), per model name. */
const AFTER_TOOL: Record<string, ReplayResponse> = {
  'tool-then-500': errorDocument(500, { message: 'The server had an error.', type: 'server_error', code: null }),
  'tool-then-529': errorDocument(529, { message: 'Overloaded.', type: 'overloaded_error', code: null }),
  'tool-then-401': errorDocument(401, { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' }),
};

/** An error inside a 200 stream, after the first chunk: an overload (`status` 200 in the event). */
const MID_STREAM_OVERLOADED: ReplayResponse = {
  status: 200,
  body: `${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'Sure' })}data: ${JSON.stringify({ error: { message: 'Overloaded.', type: 'overloaded_error', code: null } })}\n\n`,
};

let upstream: ReplayServer;
let server: TestServer;

beforeAll(async () => {
  upstream = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': (request) => {
        const { model, messages } = request.json as { model: string; messages: { role: string }[] };
        if (model === 'mid-overloaded') return MID_STREAM_OVERLOADED;
        const failure = AFTER_TOOL[model];
        if (failure === undefined) return errorDocument(404, { message: 'unknown model', type: 'not_found' });
        return messages.some((message) => message.role === 'tool') ? failure : TOOL_CALL;
      },
    },
  });
  const models = createModelRegistry({
    env: {},
    providers: { openai: createOpenAIProvider({ apiKey: 'test-key', baseURL: `${upstream.url}/v1`, maxRetries: 0 }) },
  });
  server = await startServer(createApp({ env: { SLUICE_PADDING: 'off' }, models, onError: () => undefined, onWarn: () => undefined }));
});

afterAll(async () => {
  await server.close();
  await upstream.close();
});

const MESSAGES = [{ role: 'user', content: 'What is 2+2?' }];

function chat(model: string, accept?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accept !== undefined) headers.accept = accept;
  return fetch(`${server.url}/v1/chat`, { method: 'POST', headers, body: JSON.stringify({ model, messages: MESSAGES }) });
}

async function resume(id: string, accept: string): Promise<string> {
  const response = await fetch(`${server.url}/v1/streams/${id}?last_event_id=0`, { headers: { accept } });
  expect(response.status).toBe(200);
  return response.text();
}

describe('a provider failure after a tool step is answered with the documented status, never the upstream’s', () => {
  it.each([
    ['tool-then-500', 502, 'provider_server_error', 500],
    ['tool-then-529', 503, 'provider_overloaded', 529],
    ['tool-then-401', 502, 'provider_auth_failed', 401],
  ])('%s, Accept: text/plain: HTTP %i %s', async (model, status, code, upstreamStatus) => {
    const response = await chat(`openai:${model}`, 'text/plain');
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    // The stream's log keeps the upstream's status in the event (what SSE and NDJSON clients read).
    const id = response.headers.get('x-stream-id')!;
    const logged = ndjsonLines(await resume(id, 'application/x-ndjson')).at(-1);
    expect(logged).toMatchObject({ type: 'error', code, status: upstreamStatus });
  });

  it('SSE and NDJSON: a stream (the tool step went out) ending with the error event, its upstream status kept', async () => {
    const [sse, ndjson] = await Promise.all([chat('openai:tool-then-500'), chat('openai:tool-then-500', 'application/x-ndjson')]);
    expect(sse.status).toBe(200);
    expect(ndjson.status).toBe(200);
    const frames = sseFrames(await sse.text());
    expect(frames.some((frame) => frame.event === 'tool-result')).toBe(true);
    expect(frames.at(-1)?.data).toMatchObject({ type: 'error', code: 'provider_server_error', retryable: true, status: 500 });
    const lines = ndjsonLines(await ndjson.text());
    expect(lines.at(-1)).toMatchObject({ type: 'error', code: 'provider_server_error', retryable: true, status: 500 });
  });

  it('POST /api/chat: a stream ending with the error chunk', async () => {
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'chat-tool-then-500', model: 'openai:tool-then-500', messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'What is 2+2?' }] }] }),
    });
    expect(response.status).toBe(200);
    const chunks = (await response.text())
      .split('\n\n')
      .map((block) => block.replace(/^data: /, ''))
      .filter((data) => data !== '' && data !== '[DONE]')
      .map((data) => JSON.parse(data) as { type: string });
    expect(chunks.at(-1)).toMatchObject({ type: 'error' });
  });
});

describe('POST /v1/chat/completions without streaming: an error event is answered with its code’s status', () => {
  it('an overload inside the upstream’s 200 stream: 503 provider_overloaded (the event’s status is 200)', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai:mid-overloaded', messages: MESSAGES }),
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('provider_overloaded');
  });
});
