/**
 * The app's HTTP surface around the streams: `GET`/`HEAD /v1/files/:name` behind auth, `HEAD`
 * wherever `GET` is served (never starting or following a stream), CORS from
 * `SLUICE_CORS_ORIGINS`, `GET /v1/models` with an OpenAI-compatible server, and the startup log.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, serve, startupLog } from '../src/server/app.ts';
import { parseCorsOrigins } from '../src/server/cors.ts';
import { appsOf } from '../src/server/shutdown.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startAppInstance } from './helpers/app-instance.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { readEvents } from './helpers/sse-events.ts';

const ORIGIN = 'https://app.example.com';
const KEY = { authorization: 'Bearer key-a' };
let dir: string;
let open: TestServer;
let authed: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
  await writeFile(join(dir, 'notes.txt'), 'hello files\n');
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
  open = await startServer(createApp({ models, env: { SLUICE_FILES_DIR: dir, SLUICE_CORS_ORIGINS: `${ORIGIN}, http://localhost:5173` } }));
  authed = await startServer(createApp({ models, env: { SLUICE_FILES_DIR: dir, SLUICE_API_KEYS: 'key-a' } }));
});

afterAll(async () => {
  await open.close();
  await authed.close();
  await rm(dir, { recursive: true, force: true });
});

async function activeStreams(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^sluice_active_streams (\d+)$/m.exec(text)?.[1]);
}

describe('GET /v1/files/:name', () => {
  it('serves SLUICE_FILES_DIR, with ranges, behind auth', async () => {
    expect((await fetch(`${authed.url}/v1/files/notes.txt`)).status).toBe(401);
    const whole = await fetch(`${authed.url}/v1/files/notes.txt`, { headers: KEY });
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe('hello files\n');
    const part = await fetch(`${authed.url}/v1/files/notes.txt`, { headers: { ...KEY, range: 'bytes=0-4' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('hello');
    expect((await fetch(`${authed.url}/v1/files/missing.txt`, { headers: KEY })).status).toBe(404);
    expect((await fetch(`${authed.url}/v1/files/..%2Fetc`, { headers: KEY })).status).toBe(400);
  });

  it('answers HEAD with the length and no body', async () => {
    const head = await fetch(`${authed.url}/v1/files/notes.txt`, { method: 'HEAD', headers: KEY });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('12');
    expect(head.headers.get('etag')).toBeTruthy();
    expect(await head.text()).toBe('');
  });

  it('serves the bundled samples by default', async () => {
    const app = await startServer(createApp({ env: {} }));
    try {
      const response = await fetch(`${app.url}/v1/files/hello.txt`);
      expect(response.status).toBe(200);
      expect((await response.text()).length).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});

describe('HEAD', () => {
  it('is served wherever GET only reads: the page, health, readiness, metrics, models, demo, files', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/metrics', '/v1/models', '/demo/numbers?count=10000&interval_ms=12', '/v1/files/notes.txt']) {
      const response = await fetch(`${open.url}${path}`, { method: 'HEAD' });
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe('');
    }
  });

  it('on a stream answers its head (or 404) without following it, and never starts a generation', async () => {
    const chat = await fetch(`${open.url}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] }),
    });
    const id = chat.headers.get('x-stream-id')!;
    await readEvents(chat);
    const head = await fetch(`${open.url}/v1/streams/${id}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(head.headers.get('x-stream-id')).toBe(id);
    expect(await head.text()).toBe('');
    expect((await fetch(`${open.url}/v1/streams/00000000-0000-4000-8000-000000000000`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${open.url}/v1/events?topic=news`, { method: 'HEAD' })).headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect((await fetch(`${open.url}/api/chat/nothing/stream`, { method: 'HEAD' })).status).toBe(204);
    // POST routes have no HEAD: 405, and nothing runs.
    const post = await fetch(`${open.url}/v1/chat`, { method: 'HEAD' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('POST');
    expect(await activeStreams(open.url)).toBe(0);
  });

  it('is listed in Allow next to GET', async () => {
    const response = await fetch(`${open.url}/healthz`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin with 204 and what may be sent', async () => {
    const response = await fetch(`${open.url}/v1/chat`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('vary')).toMatch(/origin/i);
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(response.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type, authorization, x-api-key, last-event-id');
    expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
  });

  it('marks streaming and error responses for an allowed origin and exposes x-stream-id', async () => {
    const chat = await fetch(`${open.url}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(chat.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(chat.headers.get('access-control-expose-headers')).toBe('x-stream-id');
    await readEvents(chat);
    const bad = await fetch(`${open.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN }, body: '{' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const missing = await fetch(`${open.url}/v1/streams/unknown`, { headers: { origin: ORIGIN } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });

  it('gives another origin no CORS headers, and the preflight no 204', async () => {
    const preflight = await fetch(`${open.url}/v1/chat`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).not.toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const response = await fetch(`${open.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-expose-headers')).toBeNull();
  });

  it('is off by default', async () => {
    const response = await fetch(`${authed.url}/healthz`, { headers: { origin: ORIGIN } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights without an API key when auth is on', async () => {
    const app = await startServer(createApp({ env: { SLUICE_API_KEYS: 'k', SLUICE_CORS_ORIGINS: ORIGIN } }));
    try {
      const response = await fetch(`${app.url}/v1/chat`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
      expect(response.status).toBe(204);
      const refused = await fetch(`${app.url}/v1/models`, { headers: { origin: ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    } finally {
      await app.close();
    }
  });

  it('refuses a SLUICE_CORS_ORIGINS entry that is not an origin', () => {
    expect(parseCorsOrigins(' https://a.example/ ,*')).toEqual(['https://a.example', '*']);
    expect(() => parseCorsOrigins('app.example.com')).toThrow(/SLUICE_CORS_ORIGINS/);
  });
});

describe('GET /v1/models', () => {
  it('lists an openai-compatible model when OPENAI_COMPATIBLE_BASE_URL is set', async () => {
    const env = { OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:11434/v1' };
    expect(createModelRegistry({ env }).list()).toContain('openai-compatible:llama3.2');
    expect(createModelRegistry({ env: { ...env, SLUICE_MODEL: 'openai-compatible:qwen2.5' } }).list()).toEqual(['openai-compatible:qwen2.5', 'local']);
    expect(createModelRegistry({ env: {} }).list()).toEqual(['local']);
    const app = await startServer(createApp({ models: createModelRegistry({ env }), env: {} }));
    try {
      const body = (await (await fetch(`${app.url}/v1/models`)).json()) as { data: { id: string; owned_by: string }[] };
      expect(body.data).toContainEqual(expect.objectContaining({ id: 'openai-compatible:llama3.2', owned_by: 'openai-compatible' }));
    } finally {
      await app.close();
    }
  });
});

describe('startup log', () => {
  it('says where it listens, the model and how to switch, the store, auth, CORS and padding, never the keys', async () => {
    const server = await serve({
      // No HOST: the default is loopback only.
      env: { SLUICE_API_KEYS: 'secret-one,secret-two', SLUICE_CORS_ORIGINS: ORIGIN, SLUICE_MODEL: 'local', PORT: '0' },
      models: createModelRegistry({ env: {} }),
    });
    try {
      const lines = startupLog(server);
      const text = lines.join('\n');
      const { port } = server.address() as { port: number };
      expect(lines[0]).toBe(`sluice listening on http://localhost:${port}`);
      expect((server.address() as { address: string }).address).toBe('127.0.0.1');
      expect(lines[1]).toMatch(/HOST=127\.0\.0\.1; set HOST=0\.0\.0\.0 to expose it/);
      expect(/listening on http:\/\/[^:]+:(\d+)/.exec(text)?.[1]).toBe(String(port));
      expect(text).toMatch(/HOST=0\.0\.0\.0/);
      expect(text).toMatch(/model: local/);
      expect(text).toMatch(/SLUICE_MODEL=openai:gpt-4o-mini and OPENAI_API_KEY/);
      expect(text).toMatch(/store: memory/);
      expect(text).toMatch(/auth: on \(2 API keys/);
      expect(text).not.toContain('secret');
      expect(text).toContain(`CORS: ${ORIGIN}`);
      expect(lines).toContain('  padding: on (frames of generated content are padded so their sizes do not reveal token lengths; set SLUICE_PADDING=off to turn it off, see docs/padding.md)');
      // The app behind serve()'s connection limits is found by graceful shutdown.
      expect(appsOf(server)).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('is what `sluice serve` prints', async () => {
    const instance = await startAppInstance({ SLUICE_API_KEYS: 'secret-key', SLUICE_CORS_ORIGINS: ORIGIN });
    try {
      await vi.waitFor(() => expect(instance.output()).toContain('CORS:'));
      const output = instance.output();
      expect(output).toMatch(/^sluice listening on http:\/\/localhost:\d+$/m);
      expect(output).toMatch(/^ {2}model: local \(the built-in demo model\); switch with SLUICE_MODEL=/m);
      expect(output).toMatch(/^ {2}store: memory/m);
      expect(output).toMatch(/^ {2}auth: on \(1 API key;/m);
      expect(output).not.toContain('secret-key');
      expect(output).toContain(`  CORS: ${ORIGIN}`);
      // After CORS, before MCP, like the other settings.
      expect(output).toMatch(/^ {2}CORS: .*\n {2}padding: on \(.*SLUICE_PADDING=off.*\)\n {2}MCP: /m);
    } finally {
      await instance.stop();
    }
  });

  it('suggests switching models only from the demo model', () => {
    const app = createApp({ env: { SLUICE_MODEL: 'openai:gpt-4o-mini', OPENAI_API_KEY: 'sk-test' }, onWarn: () => undefined });
    const line = app.describe().find((candidate) => candidate.startsWith('model: '));
    expect(line).toMatch(/^model: openai:gpt-4o-mini \(SLUICE_MODEL; a request may name another model, see GET \/v1\/models\)/);
    expect(line).not.toContain('switch with');
    void app.shutdown();
  });

  it('redacts the Redis URL and says when auth, CORS and padding are off', () => {
    const app = createApp({ env: { REDIS_URL: 'redis://user:hunter2@127.0.0.1:1/0', SLUICE_PADDING: 'off' }, onWarn: () => undefined });
    const text = app.describe().join('\n');
    expect(text).toMatch(/store: Redis at redis:\/\/.*127\.0\.0\.1:1/);
    expect(text).not.toContain('hunter2');
    expect(text).toMatch(/auth: off \(set SLUICE_API_KEYS/);
    expect(text).toMatch(/CORS: off/);
    expect(app.describe()).toContain('padding: off (SLUICE_PADDING=off: frame sizes may reveal token lengths to an observer of the encrypted traffic; unset it to pad, see docs/padding.md)');
    void app.shutdown();
  });
});
