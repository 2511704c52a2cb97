/**
 * Live chats are never aborted as `detached` while their clients read: with Redis and a detach
 * grace of 0, many concurrent `/api/chat` requests (each with a chat id, so the chat's stream is
 * remembered in Redis) all end with `finish`. A follower counts from the moment its response
 * exists, whatever Redis's latency: the app reaches Redis through a proxy that delays every
 * packet by 75 ms (Redis across a network). Each client reads until the answer's first text:
 * the moments after a run starts, when its first follower is being attached, are the ones at stake.
 * Multi-request load: runs in the sequential `timing` project.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const available = requireRedisServer();
const CHATS = 300;
const LATENCY_MS = 75;
/** One client address makes every chat here: the per-address limits are off. */
const NO_LIMITS = { streams: 0, streams_per_minute: 0, followers: 0 };

/** A TCP proxy to `port` that delays every chunk, each way, by `ms` (in order). */
function delayingProxy(port: number, ms: number): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), ms));
      from.on('close', () => setTimeout(() => to.destroy(), ms));
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    ),
  );
}

let redis: RedisServer;
let proxy: Awaited<ReturnType<typeof delayingProxy>>;
let app: AppHandler;
let server: TestServer;

beforeAll(async () => {
  if (!available) return;
  redis = await startRedisServer();
  proxy = await delayingProxy(redis.port, LATENCY_MS);
  const local = createLocalProvider({ ttftMs: 300, tokensPerSecond: 40 });
  app = createApp({ env: { REDIS_URL: proxy.url }, detachGraceMs: 0, limits: NO_LIMITS, models: createModelRegistry({ env: {}, providers: { local } }), onWarn: () => undefined });
  server = await startServer(app);
}, 30_000);

afterAll(async () => {
  // The generations stop as their clients leave (grace 0): let them end before Redis goes away.
  if (app !== undefined) await vi.waitFor(async () => expect((await app.metrics.activeStreams.get()).values[0]?.value).toBe(0), { timeout: 20_000 });
  await app?.shutdown({ drainMs: 0 });
  await server?.close();
  await proxy?.close();
  await redis?.close();
});

/**
 * One `/api/chat` request read until its first text delta: `text-delta`, or how it ended before
 * any text (`abort:<reason>`, `error`, …).
 */
async function chat(n: number): Promise<string> {
  const response = await fetch(`${server.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: `chat-${n}-${crypto.randomUUID()}`, messages: [{ id: `m${n}`, role: 'user', parts: [{ type: 'text', text: 'What is backpressure?' }] }] }),
  });
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'ended without text or terminal chunk';
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // A frame's data line; other lines (an SSE comment with token-length padding) are not data.
        const data = frame.split('\n').find((line) => line.startsWith('data: {'));
        if (data === undefined) continue;
        const chunk = JSON.parse(data.slice('data: '.length)) as { type: string; reason?: string };
        if (chunk.type === 'text-delta' || chunk.type === 'finish' || chunk.type === 'error') return chunk.type;
        if (chunk.type === 'abort') return `abort:${chunk.reason ?? ''}`;
      }
    }
  } finally {
    // The client leaves: with a grace of 0 its generation stops now, as it should.
    await reader.cancel().catch(() => undefined);
  }
}

describe.skipIf(!available)('concurrent chats on Redis with SLUICE_DETACH_GRACE_MS=0', () => {
  it(`${CHATS} concurrent /api/chat chats whose clients are reading all get their answer's text; none is aborted as detached`, async () => {
    // Started 5 ms apart (all running at once within 1.5 s): their first moments fall at every
    // phase of the run manager's periodic checks.
    const endings = await Promise.all(Array.from({ length: CHATS }, (_, n) => new Promise((resolve) => setTimeout(resolve, n * 5)).then(() => chat(n))));
    const counts: Record<string, number> = {};
    for (const ending of endings) counts[ending] = (counts[ending] ?? 0) + 1;
    expect(counts).toEqual({ 'text-delta': CHATS });
  }, 120_000);
});
