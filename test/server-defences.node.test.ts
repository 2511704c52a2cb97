/**
 * The server defends itself: slow headers, slow bodies, idle and kept-alive sockets are closed on
 * their timeouts (which never cut a long streaming response); connections over the cap get a clear
 * 503; bad asset names get 404; a client that leaves mid-upload or mid-completion is not logged; an
 * error message never echoes more than ~100 characters of the client's input; `IDENTITY` is identity.
 *
 * Timeouts are small here through `serve()`'s options; every wait is for the socket to close,
 * bounded by a timer that fails the test with a message.
 */
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import type { Provider } from '../src/providers/types.ts';
import { serve, type ServeOptions } from '../src/server/app.ts';
import { MAX_QUOTED_INPUT, quote } from '../src/server/http-error.ts';
import { OVER_CAP_MS, createLimitedServer, serverLimitsFromEnv } from '../src/server/limits.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { deferred, within } from './helpers/http.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  vi.unstubAllEnvs();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** Long enough not to be the reason a socket closed in a test about another timeout. */
const LONG = 60_000;

async function start(options: ServeOptions = {}): Promise<{ server: Server; port: number; onError: ReturnType<typeof vi.fn> }> {
  const onError = vi.fn();
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
  const server = await serve({ port: 0, host: '127.0.0.1', onError, models, ...options });
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port, onError };
}

/** A raw TCP client: what it received, and a promise of its close. */
async function raw(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined); // a reset by the server is one way of being closed
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return { socket, received: () => received, closed };
}

/** Writes `text` one byte at a time, one every 20 ms, until the socket closes. */
function drip(socket: Socket, text: string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, 20);
  socket.once('close', () => clearInterval(timer));
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

/** Lets the event loop turn twice, so a rejection that follows a close event has been handled. */
async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no pooling between tests). */
function send(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function chatBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...extra });
}

describe('timeouts', () => {
  it('closes a connection that never sends a request after idleTimeoutMs', async () => {
    const { port } = await start({ idleTimeoutMs: 100, headersTimeoutMs: LONG, requestTimeoutMs: LONG });
    const client = await raw(port);
    await within(client.closed, 5_000, 'the idle socket was still open after 5 s');
    expect(client.received()).toBe('');
  });

  it('answers 408 and closes a client sending its headers a byte at a time (headersTimeoutMs)', async () => {
    const { port, onError } = await start({ headersTimeoutMs: 200, requestTimeoutMs: LONG, idleTimeoutMs: 0 });
    const client = await raw(port);
    drip(client.socket, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1_000)}\r\n\r\n`);
    await within(client.closed, 5_000, 'the slow-headers socket was still open after 5 s');
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(onError).not.toHaveBeenCalled();
  });

  it('closes a client sending its body a byte at a time (requestTimeoutMs), logging nothing', async () => {
    const { port, onError, server } = await start({ headersTimeoutMs: 200, requestTimeoutMs: 200, idleTimeoutMs: 0 });
    const client = await raw(port);
    client.socket.write('POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    drip(client.socket, chatBody().padEnd(1_000));
    await within(client.closed, 5_000, 'the slow-body socket was still open after 5 s');
    await vi.waitFor(async () => expect(await connections(server)).toBe(0));
    await settle();
    expect(onError).not.toHaveBeenCalled();
  });

  it('closes a kept-alive connection with no next request after keepAliveTimeoutMs', async () => {
    const { port } = await start({ keepAliveTimeoutMs: 100, idleTimeoutMs: LONG, headersTimeoutMs: LONG, requestTimeoutMs: LONG });
    const client = await raw(port);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(client.closed, 5_000, 'the kept-alive socket was still open after 5 s');
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
  });

  it('never cuts a streaming response: it outlives the request, headers and idle timeouts', async () => {
    const { port } = await start({ requestTimeoutMs: 50, headersTimeoutMs: 50, idleTimeoutMs: 50, keepAliveTimeoutMs: 50 });
    // Four lines 150 ms apart: each pause is longer than every timeout, and the whole far longer.
    const answer = await send(port, '/demo/numbers?count=4&interval_ms=150');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('数字: 0\n数字: 1\n数字: 2\n数字: 3\n');
  });

  it('refuses a headers timeout longer than the request timeout, and bad values, with a RangeError', () => {
    expect(() => createLimitedServer(() => undefined, { headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 })).toThrow(RangeError);
    expect(() => createLimitedServer(() => undefined, { maxConnections: 0 })).toThrow(RangeError);
    expect(() => createLimitedServer(() => undefined, { idleTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => serverLimitsFromEnv({ SLUICE_REQUEST_TIMEOUT_MS: '30s' })).toThrow('Expected `SLUICE_REQUEST_TIMEOUT_MS` to be a whole number of milliseconds ≥ 0, got "30s".');
  });

  it('reads each limit from its SLUICE_* variable', () => {
    expect(
      serverLimitsFromEnv({
        SLUICE_HEADERS_TIMEOUT_MS: '1000',
        SLUICE_REQUEST_TIMEOUT_MS: '2000',
        SLUICE_KEEP_ALIVE_TIMEOUT_MS: '3000',
        SLUICE_IDLE_TIMEOUT_MS: '4000',
        SLUICE_MAX_CONNECTIONS: '5',
        SLUICE_OTHER: '6',
      }),
    ).toEqual({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 3000, idleTimeoutMs: 4000, maxConnections: 5 });
  });
});

describe('connection cap', () => {
  async function expectCap(server: Server, port: number, cap: number): Promise<void> {
    for (let i = 0; i < cap; i++) await raw(port);
    await vi.waitFor(async () => expect(await connections(server)).toBe(cap));
    // /healthz and /readyz are answered over the cap (test/safety.node.test.ts); other paths are not.
    const refused = await send(port, '/v1/models');
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'overloaded', message: expect.stringContaining(`limit is ${cap}`) } });
    // One leaves: the next client is served.
    sockets.pop()!.destroy();
    await vi.waitFor(async () => expect(await connections(server)).toBe(cap - 1));
    expect((await send(port, '/v1/models')).status).toBe(200);
  }

  it('answers 503 overloaded with Connection: close over maxConnections, and serves again below it', async () => {
    const { server, port } = await start({ maxConnections: 2 });
    await expectCap(server, port, 2);
  });

  it('closes a silent connection over the cap within OVER_CAP_MS, not the idle timeout, so it holds no descriptor', async () => {
    const { server, port } = await start({ maxConnections: 1, idleTimeoutMs: LONG });
    const held = await raw(port);
    const over = await raw(port);
    await within(over.closed, 10 * OVER_CAP_MS, 'the silent connection over the cap was still open');
    // The connection under the cap keeps its own (long) idle timeout.
    expect(held.socket.destroyed).toBe(false);
    expect(await connections(server)).toBe(1);
  });

  it('closes a connection over the cap within OVER_CAP_MS even while it trickles its headers in', async () => {
    const { port } = await start({ maxConnections: 1, idleTimeoutMs: LONG, headersTimeoutMs: LONG, requestTimeoutMs: LONG });
    await raw(port);
    const over = await raw(port);
    // One byte every 20 ms: an idle timer would never fire.
    drip(over.socket, `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(2_000)}\r\n\r\n`);
    await within(over.closed, 10 * OVER_CAP_MS, 'the trickling connection over the cap was still open');
  });

  it('takes the cap from SLUICE_MAX_CONNECTIONS', async () => {
    vi.stubEnv('SLUICE_MAX_CONNECTIONS', '3');
    const { server, port } = await start();
    await expectCap(server, port, 3);
  });
});

describe('bad names and echoed input', () => {
  it('answers a 300-character asset name with 404, logging nothing', async () => {
    const { port, onError } = await start();
    const answer = await send(port, `/assets/sluice/core/${'a'.repeat(300)}.js`);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body).error.code).toBe('not_found');
    expect(answer.body.length).toBeLessThan(400);
    expect(onError).not.toHaveBeenCalled();
  });

  it('answers a 1 MB model name with a small 400', async () => {
    const { port } = await start();
    const answer = await send(port, '/v1/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody({ model: 'x'.repeat(1_000_000) }) });
    expect(answer.status).toBe(400);
    const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
    expect(error.code).toBe('unknown_model');
    expect(error.message).toContain(`"${'x'.repeat(MAX_QUOTED_INPUT)}…"`);
    expect(answer.body.length).toBeLessThan(1_000);
  });

  it('echoes at most ~100 characters of a long path, Content-Type or Content-Encoding', async () => {
    const { port } = await start();
    const long = 'a'.repeat(8_000);
    const notFound = await send(port, `/${long}`);
    expect(notFound.status).toBe(404);
    expect(notFound.body.length).toBeLessThan(400);
    const post = (headers: Record<string, string>): Promise<Answer> => send(port, '/v1/chat', { method: 'POST', headers, body: chatBody() });
    for (const answer of [await post({ 'content-type': `text/${long}` }), await post({ 'content-type': 'application/json', 'content-encoding': long })]) {
      expect(answer.status).toBe(415);
      expect(answer.body.length).toBeLessThan(400);
    }
  });

  it('echoes at most 100 characters of a Last-Event-ID, a ?last_event_id=, a topic or a topic\'s Last-Event-ID', async () => {
    const { port } = await start();
    const answers = [
      await send(port, '/v1/streams/s1', { headers: { 'last-event-id': 'x'.repeat(8_000) } }),
      await send(port, `/v1/streams/s1?last_event_id=${'9'.repeat(5_000)}`),
      await send(port, '/v1/events?topic=news', { headers: { 'last-event-id': '!'.repeat(6_000) } }),
      await send(port, `/v1/events?topic=${'t'.repeat(5_000)}`),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      const { error } = JSON.parse(answer.body) as { error: { message: string } };
      expect(error.message).toMatch(/"(.)\1{99}…"/u);
      // Before, each quoted the whole input: an 8,154-byte body for the 8,000 x's.
      expect(answer.body.length).toBeLessThan(400);
    }
  });

  it("echoes at most 100 characters of an AG-UI resume's interrupt ids", async () => {
    const { port } = await start();
    const body = JSON.stringify({ threadId: 'thread-none', runId: 'r1', messages: [], resume: [{ interruptId: 'i'.repeat(8_000), status: 'resolved', payload: { approved: true } }] });
    const answer = await send(port, '/v1/ag-ui', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(answer.status).toBe(409);
    expect((JSON.parse(answer.body) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'interrupt_expired', message: expect.stringMatching(/"i{100}…"/) });
    expect(answer.body.length).toBeLessThan(400);
  });

  it('takes an empty Last-Event-ID for none on /v1/streams/:id, as on /v1/events (the SSE spec)', async () => {
    const { port } = await start();
    // The events, without the padding comments (random, so that no two responses compress alike).
    const events = (answer: Answer): string => answer.body.replace(/^:.*\n/gm, '');
    const chat = await send(port, '/v1/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody() });
    const id = String(chat.headers['x-stream-id']);
    const whole = await send(port, `/v1/streams/${id}`);
    expect(whole.status).toBe(200);
    for (const path of [`/v1/streams/${id}`, `/v1/streams/${id}?last_event_id=`]) {
      const empty = await send(port, path, { headers: { 'last-event-id': '' } });
      expect(empty.status).toBe(200);
      expect(events(empty)).toBe(events(whole));
      expect((await send(port, path, { method: 'HEAD', headers: { 'last-event-id': '' } })).status).toBe(200);
    }
    // An empty header is absent: the query's id counts, as when there is no header.
    const after = await send(port, `/v1/streams/${id}?last_event_id=2`, { headers: { 'last-event-id': '' } });
    expect(events(after)).toBe(events(await send(port, `/v1/streams/${id}?last_event_id=2`)));
    expect(events(after).length).toBeLessThan(events(whole).length);
    const topic = await send(port, '/v1/events?topic=news', { method: 'HEAD', headers: { 'last-event-id': '' } });
    expect(topic.status).toBe(200);
  });

  it('cuts a quote at 100 code points, never inside a surrogate pair', () => {
    expect(quote('short')).toBe('"short"');
    expect(quote('x'.repeat(100))).toBe(`"${'x'.repeat(100)}"`);
    expect(quote('x'.repeat(101))).toBe(`"${'x'.repeat(100)}…"`);
    expect(quote('😀'.repeat(150))).toBe(`"${'😀'.repeat(100)}…"`);
    expect(quote('😀'.repeat(100) + 'x')).toBe(`"${'😀'.repeat(100)}…"`);
  });

  it('accepts Content-Encoding: IDENTITY (content codings are case-insensitive)', async () => {
    const { port } = await start();
    const answer = await send(port, '/v1/chat', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'IDENTITY' }, body: chatBody() });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('event: finish');
  });
});

describe('client disconnects are not failures', () => {
  it('logs nothing when a client aborts its upload', async () => {
    const { server, port, onError } = await start();
    const client = await raw(port);
    client.socket.write('POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"messages":');
    // The handler is reading the body once its connection is counted and the bytes are in.
    await vi.waitFor(async () => expect(await connections(server)).toBe(1));
    client.socket.resetAndDestroy();
    await client.closed;
    await vi.waitFor(async () => expect(await connections(server)).toBe(0));
    await settle();
    expect(onError).not.toHaveBeenCalled();
  });

  it('logs nothing and answers nothing when the client leaves a non-streaming completion', async () => {
    const started = deferred();
    const stopped = deferred();
    const waitsForAbort: Provider = (_request, { signal } = {}) =>
      (async function* (): AsyncGenerator<AgentEvent> {
        try {
          yield { type: 'message-start', messageId: 'm1' };
          started.resolve();
          await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
        } finally {
          stopped.resolve();
        }
      })();
    const onError = vi.fn();
    const models = createModelRegistry({ env: {}, providers: { local: waitsForAbort } });
    const server = await serve({ port: 0, host: '127.0.0.1', onError, models });
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'hi' }], stream: false }));
    await within(started.promise, 5_000, 'the provider never started');
    req.destroy();
    await within(stopped.promise, 1_000, "the provider's finally did not run within 1 s of the disconnect");
    await vi.waitFor(async () => expect(await connections(server)).toBe(0));
    await settle();
    expect(onError).not.toHaveBeenCalled();
  });
});

describe('serve() and graceful shutdown', () => {
  it('finds the app behind the server limits, so SIGTERM drains its generations', async () => {
    const { serve } = await import('../src/server/app.ts');
    const { appsOf, shutdownDeadlineMs, shutdownServer } = await import('../src/server/shutdown.ts');
    const server = await serve({ port: 0, host: '127.0.0.1', drainMs: 1234, onWarn: () => {} });
    try {
      expect(appsOf(server)).toHaveLength(1);
      expect(shutdownDeadlineMs(server)).toBe(1234 + 5000);
    } finally {
      await shutdownServer(server);
    }
  });
});
