/**
 * A run whose first event is an `error` that comes after the response's head went out (the head is
 * held 10 s for the first event, then sent with a heartbeat: a provider that retried a slow 429
 * for long, a first-token timeout): the live response carries the logged event (its id,
 * `retryable`, `status`), exactly as a resume reads it, not a local `error` made from the code and
 * message alone (`retryable: false`, no status, no id). Before the head is out the same event is
 * still an HTTP error status (test/server-provider-error.node.test.ts).
 *
 * The provider is the real OpenAI provider against the replay server; the follower's own checks
 * run with a short hold.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentFormat } from '../src/protocol/agent-format.ts';
import { agentNdjson } from '../src/protocol/agent-ndjson.ts';
import { agentSse } from '../src/protocol/agent-sse.ts';
import { agentText } from '../src/protocol/agent-text.ts';
import { createOpenAIProvider } from '../src/providers/openai/create-openai-provider.ts';
import { createReplayServer, type ReplayResponse, type ReplayServer } from '../src/providers/replay/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createFollowerSet, logFollower, respond } from '../src/server/runs/follow-stream.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { StoredEvent } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { ndjsonLines, sseFrames } from './helpers/sse-events.ts';

const errorDocument = (status: number, error: Record<string, unknown>, extra: Partial<ReplayResponse> = {}): ReplayResponse => ({
  status,
  body: JSON.stringify({ error }),
  headers: { 'content-type': 'application/json' },
  ...extra,
});

/** The first-event failure that comes after the head's 10 s hold: a slow 429 (a provider that retried for long). */
const HOLD_MS = 10_000;
const SLOW_429 = errorDocument(429, { message: 'Rate limit reached.', type: 'requests', code: 'rate_limit_exceeded' }, { headersDelayMs: HOLD_MS + 1500 });

let upstream: ReplayServer;
let server: TestServer;

beforeAll(async () => {
  upstream = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': (request) => {
        const { model } = request.json as { model: string };
        return model === 'slow-429' ? SLOW_429 : errorDocument(404, { message: 'unknown model', type: 'not_found' });
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

describe('a run whose first event is an error that comes after the head was sent', () => {
  it(
    'SSE and NDJSON: the live response carries the logged event (id, retryable, status), as a resume reads it',
    async () => {
      const [sse, ndjson] = await Promise.all([chat('openai:slow-429'), chat('openai:slow-429', 'application/x-ndjson')]);
      // The head went out when the hold ran out, before the failure: a stream, not an HTTP error.
      expect(sse.status).toBe(200);
      expect(ndjson.status).toBe(200);
      const [sseText, ndjsonText] = await Promise.all([sse.text(), ndjson.text()]);

      const expected = {
        type: 'error',
        code: 'provider_rate_limited',
        message: expect.any(String) as unknown,
        retryable: true,
        status: 429,
      };
      const live = sseFrames(sseText);
      expect(live).toHaveLength(1);
      expect(live[0]).toEqual({ event: 'error', id: '1', data: expected });
      expect(sseFrames(await resume(sse.headers.get('x-stream-id')!, 'text/event-stream'))).toEqual(live);

      const lines = ndjsonLines(ndjsonText);
      expect(lines).toEqual([expected]);
      expect(ndjsonLines(await resume(ndjson.headers.get('x-stream-id')!, 'application/x-ndjson'))).toEqual(lines);
    },
    HOLD_MS + 15_000,
  );
});

describe('the first response of a run: an error first event after the head went out (respond with a short hold)', () => {
  let http: TestServer;
  const store = createMemoryStore();
  const followers = createFollowerSet();
  /** Per request path: the stream and the codec. */
  const routes = new Map<string, { id: string; format: AgentFormat; until?: (stored: StoredEvent) => boolean }>();

  beforeAll(async () => {
    const listener = createServer((req, res: ServerResponse) => {
      const route = routes.get(req.url ?? '')!;
      // As the chat routes follow the run they start: the response is the first one.
      const log = logFollower(store, route.id, 0, res, route.format, route.until);
      void respond(res, log.source, { format: log.format, followers, holdHeadersMs: 20, heartbeatMs: 20 });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    http = { server: listener, url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => listener.close(() => resolve())) };
  });

  afterAll(async () => {
    http.server.closeAllConnections();
    await http.close();
    await store.close();
  });

  const ERROR = { type: 'error', code: 'provider_rate_limited', message: 'OpenAI answered HTTP 429 (requests).', retryable: true, status: 429 } as const;

  /** Starts a response on a new stream, appends the error once the head is out, and reads the body. */
  async function failLate(path: string, format: AgentFormat, until?: (stored: StoredEvent) => boolean): Promise<{ status: number; body: string }> {
    const id = `s-${path.slice(1)}`;
    const writer = await store.create({ id });
    routes.set(path, until === undefined ? { id, format } : { id, format, until });
    const response = await fetch(`${http.url}${path}`);
    // The head came when the hold ran out; the run fails later.
    await new Promise((resolve) => setTimeout(resolve, 60));
    await writer.append({ ...ERROR });
    return { status: response.status, body: await response.text() };
  }

  it('SSE: the event with its id, retryable and status', async () => {
    const { status, body } = await failLate('/sse', agentSse());
    expect(status).toBe(200);
    expect(sseFrames(body)).toEqual([{ event: 'error', id: '1', data: ERROR }]);
  });

  it('SSE with `until` (the AI SDK route’s follower): the same', async () => {
    const { status, body } = await failLate('/sse-until', agentSse(), () => false);
    expect(status).toBe(200);
    expect(sseFrames(body)).toEqual([{ event: 'error', id: '1', data: ERROR }]);
  });

  it('NDJSON: the event line as logged', async () => {
    const { status, body } = await failLate('/ndjson', agentNdjson());
    expect(status).toBe(200);
    expect(ndjsonLines(body)).toEqual([ERROR]);
  });

  it('plain text: the transfer is aborted (no in-band error signal)', async () => {
    const id = 's-text';
    const writer = await store.create({ id });
    routes.set('/text', { id, format: agentText() });
    const response = await fetch(`${http.url}/text`);
    expect(response.status).toBe(200);
    const reading = response.text();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await writer.append({ ...ERROR });
    await expect(reading).rejects.toThrow();
  });
});
