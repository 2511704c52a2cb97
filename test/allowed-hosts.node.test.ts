/**
 * DNS rebinding: with auth off, the API answers only requests naming the server by an IP address,
 * localhost or a name in SLUICE_ALLOWED_HOSTS; a page that rebound its own name to 127.0.0.1
 * sends that name as `Host` and gets 403. With keys on there is no such check (the key is the defence).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
const servers: TestServer[] = [];
let open: TestServer;
let listed: TestServer;
let keyed: TestServer;

beforeAll(async () => {
  open = await startServer(createApp({ models, env: {} }));
  listed = await startServer(createApp({ models, env: { SLUICE_ALLOWED_HOSTS: 'chat.example.com' } }));
  keyed = await startServer(createApp({ models, env: { SLUICE_API_KEYS: 'key-a' } }));
  servers.push(open, listed, keyed);
});
afterAll(() => Promise.all(servers.map((server) => server.close())));

/** A request with the given Host header (fetch cannot set one). */
function send(server: TestServer, method: string, path: string, host: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { host, 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CHAT = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });

describe('the Host check while auth is off', () => {
  it('refuses the API to a rebound name with 403 forbidden_host, naming SLUICE_ALLOWED_HOSTS', async () => {
    const host = 'rebind.attacker.example:3000';
    for (const [method, path, body] of [['POST', '/v1/chat', CHAT], ['POST', '/api/chat', CHAT], ['POST', '/v1/events', JSON.stringify({ topic: 't', data: 1 })], ['GET', '/v1/models', undefined]] as const) {
      const answer = await send(open, method, path, host, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      const error = (JSON.parse(answer.body) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('forbidden_host');
      expect(error.message).toContain('SLUICE_ALLOWED_HOSTS');
    }
  });

  it('answers requests naming the server by IP address or localhost', async () => {
    for (const host of ['127.0.0.1', `localhost:${new URL(open.url).port}`, '[::1]:3000']) {
      expect((await send(open, 'GET', '/v1/models', host)).status, host).toBe(200);
    }
    const chat = await send(open, 'POST', '/v1/chat', 'localhost', CHAT);
    expect(chat.status).toBe(200);
    expect(chat.body).toContain('event: finish');
  });

  it('leaves the page and the probes alone', async () => {
    for (const path of ['/healthz', '/']) expect((await send(open, 'GET', path, 'rebind.attacker.example')).status, path).toBe(200);
  });

  it('answers a name listed in SLUICE_ALLOWED_HOSTS, and no other', async () => {
    expect((await send(listed, 'GET', '/v1/models', 'chat.example.com')).status).toBe(200);
    expect((await send(listed, 'GET', '/v1/models', 'other.example.com')).status).toBe(403);
  });

  it('is not made with API keys on: the key is what is checked', async () => {
    expect((await send(keyed, 'GET', '/v1/models', 'chat.example.com', undefined, { authorization: 'Bearer key-a' })).status).toBe(200);
    expect((await send(keyed, 'GET', '/v1/models', 'chat.example.com')).status).toBe(401);
  });
});
