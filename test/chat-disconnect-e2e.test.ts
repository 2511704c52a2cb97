/**
 * Issue 4, must-show 2, end to end: a browser or client that leaves a sluice endpoint mid-answer
 * closes the model provider's upstream connection within 200 ms. The chain is real: an HTTP client
 * → sluice's `/v1/chat` and `/v1/chat/completions` → the provider on its official SDK → a replay
 * server dripping a recorded stream on 127.0.0.1.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAICompatibleProvider, createOpenAIProvider } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture, type ReplayServer } from '../src/providers/replay/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { FIXTURES } from './providers-helpers.ts';

const CLOSE_BUDGET_MS = 200;

let upstream: ReplayServer;
let app: TestServer;

beforeAll(async () => {
  const drip = async (folder: string, file: string) => ({ ...(await readReplayFixture(new URL(`${folder}/`, FIXTURES), file)), chunkDelayMs: 100 });
  upstream = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': await drip('openai-chat', 'text-basic.sse'),
      'POST /v1/messages': await drip('anthropic-messages', 'text.sse'),
    },
  });
  const models = createModelRegistry({
    env: {},
    providers: {
      openai: createOpenAIProvider({ apiKey: 'test-key', baseURL: `${upstream.url}/v1` }),
      anthropic: createAnthropicProvider({ apiKey: 'test-key', baseURL: upstream.url }),
      'openai-compatible': createOpenAICompatibleProvider({ baseURL: `${upstream.url}/v1` }),
    },
  });
  // Grace 0: a client that leaves stops its generation at once (by default it waits 30 s to be resumed).
  app = await startServer(createApp({ env: {}, detachGraceMs: 0, models }));
});

afterAll(async () => {
  await app.close();
  await upstream.close();
});

/** Posts, waits for the first text on the wire, then drops the connection; resolves with when. */
function postAndDrop(path: string, body: unknown, marker: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${app.url}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let seen = '';
      res.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes(marker)) {
          const at = performance.now();
          req.destroy();
          resolve(at);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
    req.end(JSON.stringify(body));
  });
}

const CASES: [string, string, string, unknown, string][] = [
  ['openai via /v1/chat', 'openai:gpt-4o-mini', '/v1/chat', {}, 'event: text-delta'],
  ['anthropic via /v1/chat', 'anthropic:claude-haiku-4-5', '/v1/chat', {}, 'event: text-delta'],
  ['openai-compatible via /v1/chat', 'openai-compatible:qwen', '/v1/chat', {}, 'event: text-delta'],
  ['anthropic via /v1/chat/completions', 'anthropic:claude-haiku-4-5', '/v1/chat/completions', { stream: true }, '"content":'],
];

describe.each(CASES)('%s', (_name, model, path, extra, marker) => {
  it(`closes the upstream connection within ${CLOSE_BUDGET_MS} ms of the client leaving`, async () => {
    const before = upstream.requests.length;
    const droppedAt = await postAndDrop(path, { model, messages: [{ role: 'user', content: 'Hello' }], ...(extra as object) }, marker);
    const upstreamRequest = upstream.requests[before];
    expect(upstreamRequest).toBeDefined();
    await upstreamRequest!.closed;
    const latency = upstreamRequest!.closedAt! - droppedAt;
    expect(upstreamRequest!.aborted).toBe(true);
    expect(latency).toBeLessThan(CLOSE_BUDGET_MS);
  });
});
