/**
 * POST /v1/chat and the request handling shared by the chat endpoints: the native SSE protocol
 * (event names, ids 1, 2, 3 … never skipping, terminal event), Accept negotiation (plain text,
 * NDJSON), `x-stream-id`, and clear JSON errors with the right status for bad input.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AGENT_EVENT_TYPES, type AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let server: TestServer;

beforeAll(async () => {
  // The missing-key cases must not depend on the developer's own environment.
  for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENAI_COMPATIBLE_BASE_URL', 'OPENAI_BASE_URL']) vi.stubEnv(name, '');
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
  server = await startServer(createApp({ models }));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
});

function chat(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Splits a native SSE body into blocks of fields (the encoder never splits data of JSON events). */
function blocks(body: string): { event: string; id: string; data: AgentEvent }[] {
  return body
    .split('\n\n')
    .filter((block) => block !== '' && !block.startsWith(':'))
    .map((block) => {
      const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      return { event: fields.event!, id: fields.id!, data: JSON.parse(fields.data!) as AgentEvent };
    });
}

describe('POST /v1/chat', () => {
  it('streams agent events as SSE: event = type, ids 1, 2, 3 …, ending with finish', async () => {
    const response = await chat({ messages: [{ role: 'user', content: 'What is backpressure?' }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-stream-id')).toMatch(/^[0-9a-f-]{36}$/);
    const events = blocks(await response.text());
    expect(events.length).toBeGreaterThan(20);
    events.forEach((block, index) => {
      expect(block.id).toBe(String(index + 1));
      expect(block.event).toBe(block.data.type);
      expect(AGENT_EVENT_TYPES).toContain(block.event);
    });
    expect(events[0]!.event).toBe('message-start');
    expect(events.at(-1)!.event).toBe('finish');
    const text = events.flatMap((b) => (b.data.type === 'text-delta' ? [b.data.delta] : [])).join('');
    expect(text).toMatch(/backpressure/i);
  });

  it('gives plain text for Accept: text/plain', async () => {
    const response = await chat({ messages: [{ role: 'user', content: 'What is backpressure?' }] }, { accept: 'text/plain' });
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await response.text();
    expect(text).toMatch(/backpressure/i);
    expect(text).not.toContain('"type"');
  });

  it('gives NDJSON for Accept: application/x-ndjson', async () => {
    const response = await chat({ messages: [{ role: 'user', content: 'hello' }] }, { accept: 'application/x-ndjson' });
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as AgentEvent);
    expect(lines[0]!.type).toBe('message-start');
    expect(lines.at(-1)!.type).toBe('finish');
  });

  it('streams tool calls when tools are offered and asked for', async () => {
    const response = await chat({
      messages: [{ role: 'user', content: 'search_docs for backpressure please' }],
      tools: [{ name: 'search_docs', description: 'Search the docs', inputSchema: { type: 'object', properties: { query: { type: 'string' } } } }],
    });
    const events = blocks(await response.text()).map((b) => b.data);
    const call = events.find((e) => e.type === 'tool-call');
    expect(call).toMatchObject({ type: 'tool-call', toolName: 'search_docs' });
    const deltas = events.flatMap((e) => (e.type === 'tool-call-delta' ? [e.delta] : [])).join('');
    expect(JSON.parse(deltas)).toEqual((call as { input: unknown }).input);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
  });
});

describe('bad input gets a clear JSON error with the right status', () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    ['invalid JSON', () => chat('{"messages": ['), 400, 'invalid_json'],
    ['no messages', () => chat({ messages: [] }), 400, 'invalid_request'],
    ['a bad role', () => chat({ messages: [{ role: 'wizard', content: 'x' }] }), 400, 'invalid_request'],
    ['an unknown model', () => chat({ messages: [{ role: 'user', content: 'x' }], model: 'nope' }), 400, 'unknown_model'],
    ['a model whose provider has no key here', () => chat({ messages: [{ role: 'user', content: 'x' }], model: 'anthropic:claude-haiku-4-5' }), 400, 'model_unavailable'],
    ['a model whose provider has no base URL here', () => chat({ messages: [{ role: 'user', content: 'x' }], model: 'openai-compatible:llama3.2' }), 400, 'model_unavailable'],
    [
      'a model without a key on /v1/chat/completions',
      () =>
        fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'openai:gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
        }),
      400,
      'model_unavailable',
    ],
    [
      'a model without a key on /api/chat',
      () =>
        fetch(`${server.url}/api/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'anthropic:x', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'x' }] }] }),
        }),
      400,
      'model_unavailable',
    ],
    ['a body that is not JSON', () => fetch(`${server.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }), 415, 'unsupported_media_type'],
    [
      'a body over the limit',
      () => chat({ messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] }),
      413,
      'payload_too_large',
    ],
    ['an unknown path', () => fetch(`${server.url}/v1/nope`), 404, 'not_found'],
    ['a wrong method', () => fetch(`${server.url}/v1/chat`), 405, 'method_not_allowed'],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
  });

  it('names the missing key’s variable and the models that are available', async () => {
    const response = await chat({ messages: [{ role: 'user', content: 'x' }], model: 'anthropic:claude-haiku-4-5' });
    const { message } = ((await response.json()) as { error: { message: string } }).error;
    expect(message).toBe('Model "anthropic:claude-haiku-4-5" is not available on this server: ANTHROPIC_API_KEY is not set. Available models: "local".');
  });

  it('answers a model without a key as 400 on /v1/ag-ui and non-streaming completions, without reporting an error', async () => {
    const reported: unknown[] = [];
    const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
    const own = await startServer(createApp({ models, onError: (error) => reported.push(error) }));
    try {
      const post = (path: string, body: unknown): Promise<Response> =>
        fetch(`${own.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const agUi = await post('/v1/ag-ui', {
        threadId: 't',
        runId: 'r',
        messages: [{ id: 'u1', role: 'user', content: 'hi' }],
        tools: [],
        context: [],
        state: {},
        forwardedProps: { model: 'anthropic:x' },
      });
      expect(agUi.status).toBe(400);
      expect(((await agUi.json()) as { error: { code: string } }).error.code).toBe('model_unavailable');
      const completion = await post('/v1/chat/completions', { model: 'anthropic:x', stream: false, messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.status).toBe(400);
      expect(((await completion.json()) as { error: { code: string } }).error.code).toBe('model_unavailable');
      expect(reported).toEqual([]);
    } finally {
      await own.close();
    }
  });

  it('words a body of the wrong shape as the body being invalid', async () => {
    const response = await chat([1, 2]);
    expect(response.status).toBe(400);
    const { message } = ((await response.json()) as { error: { message: string } }).error;
    expect(message).toMatch(/^The body is invalid: /);
  });

  it('keeps a misconfigured default model the server’s own fault (500, the provider’s code)', async () => {
    const models = createModelRegistry({ env: { SLUICE_MODEL: 'anthropic:claude-haiku-4-5' } });
    const own = await startServer(createApp({ models }));
    try {
      const response = await fetch(`${own.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }) });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('provider_api_key_missing');
    } finally {
      await own.close();
    }
  });

  it('says at startup that the default model cannot work without its variable', () => {
    const describeModel = (env: Record<string, string>): string => createApp({ env }).describe()[0]!;
    expect(describeModel({ SLUICE_MODEL: 'anthropic:claude-haiku-4-5' })).toContain('NOT USABLE: ANTHROPIC_API_KEY is not set');
    expect(describeModel({ SLUICE_MODEL: 'openai-compatible:llama3.2' })).toContain('NOT USABLE: OPENAI_COMPATIBLE_BASE_URL is not set');
    expect(describeModel({})).not.toContain('NOT USABLE');
  });

  it('stays up after all of that', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('request edge cases', () => {
  it('answers 400 when tool_choice names a tool that tools does not offer', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'hi' }], tool_choice: { type: 'function', function: { name: 'nope' } } }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; message: string } }).error.message).toContain('"nope"');
  });

  it('answers a chunked body over the limit with 413 and closes the connection', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<{ status: number | undefined; connection: string | undefined }>((resolve, reject) => {
      const req = request(`${server.url}/v1/chat`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, connection: res.headers.connection });
      });
      req.on('error', reject);
      // 16 MB in 64 KiB chunks, no Content-Length (chunked).
      const chunk = Buffer.alloc(64 * 1024, 32);
      let sent = 0;
      const pump = (): void => {
        while (sent < 256) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toEqual({ status: 413, connection: 'close' });
  });

  it('answers 405 with an Allow header, and a HEAD of the demo with its head only (no numbers made)', async () => {
    const response = await fetch(`${server.url}/v1/chat`, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect((await fetch(`${server.url}/v1/chat`, { method: 'HEAD' })).status).toBe(405);
    // Two minutes of numbers for a GET (the most the demo allows); a HEAD answers at once.
    const head = await fetch(`${server.url}/demo/numbers?count=120&interval_ms=1000`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await head.text()).toBe('');
  });

  it('answers 415 for a compressed body', async () => {
    const response = await fetch(`${server.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'x' });
    expect(response.status).toBe(415);
  });
});
