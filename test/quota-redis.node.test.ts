/**
 * Quotas shared across instances: two apps on one private Redis. One key past its
 * running-generation limit on instance A is refused on instance B too (429, Retry-After), other
 * keys are not, and it works again once a generation ends; per-minute and topic limits count on
 * both; leases of an instance that died lapse by themselves. The attacks replayed on Redis: owned
 * topics, the poisoned publish, the publish flood (each topic capped in bytes).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp, type AppHandler, type AppOptions } from '../src/server/app.ts';
import { createAuth } from '../src/server/auth.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createQuotas } from '../src/server/quotas/quotas.ts';
import { createRedisStore } from '../src/store/redis.ts';
import type { QuotaBackend } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { redisCommand, requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const available = requireRedisServer();

/** Models that start at once and finish when the test says so (shared by both instances). */
let open!: () => void;
let gate = new Promise<void>((resolve) => (open = resolve));
const releaseAll = (): void => {
  open();
  gate = new Promise<void>((resolve) => (open = resolve));
};
const held: Provider = async function* heldModel(_request, options) {
  // The gate of when the generation started: releaseAll() releases it even when it comes before this
  // generation's first append has landed (and it gets here).
  const released = gate;
  yield { type: 'message-start', messageId: 'msg_held', model: 'held' } satisfies AgentEvent;
  const aborted = new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([released, aborted]);
  options?.signal?.throwIfAborted();
  yield { type: 'text-delta', id: 't', delta: 'the answer' } satisfies AgentEvent;
  yield { type: 'finish', finishReason: 'stop' } satisfies AgentEvent;
};

interface Instance {
  app: AppHandler;
  server: TestServer;
  url: string;
}
const instances: Instance[] = [];
let redis: RedisServer;

async function start(options: AppOptions & { env?: Record<string, string> } = {}): Promise<Instance> {
  const app = createApp({ onWarn: () => {}, models: createModelRegistry({ env: {}, providers: { local: held } }), ...options, env: { REDIS_URL: redis.url, ...options.env } });
  const server = await startServer(app);
  const instance = { app, server, url: server.url };
  instances.push(instance);
  await vi.waitFor(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  return instance;
}

beforeAll(async () => {
  if (available) redis = await startRedisServer();
}, 30_000);

afterAll(async () => {
  releaseAll();
  for (const { app, server } of instances) {
    await app.shutdown({ drainMs: 0 });
    await server.close();
  }
  await redis?.close();
});

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const json = (headers: Record<string, string> = {}): Record<string, string> => ({ 'content-type': 'application/json', ...headers });

function chat(instance: Instance, key: string): Promise<Response> {
  return fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(bearer(key)), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
}

function publish(instance: Instance, body: unknown, key: string): Promise<Response> {
  return fetch(`${instance.url}/v1/events`, { method: 'POST', headers: json(bearer(key)), body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function errorOf(response: Response): Promise<{ status: number; retryAfter: string | null; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ...body.error };
}

/** The `data:` lines of a subscription from the start of a topic's history, until one matches `until`. */
async function subscribeUntil(instance: Instance, topic: string, key: string, until: (data: string) => boolean, onOpen?: () => Promise<void>): Promise<string[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const response = await fetch(`${instance.url}/v1/events?topic=${encodeURIComponent(topic)}`, { headers: { 'last-event-id': '0', ...bearer(key) }, signal: controller.signal });
    expect(response.status).toBe(200);
    await onOpen?.();
    const seen: string[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the subscription ended; seen ${JSON.stringify(seen)}`);
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('data:')) continue;
        seen.push(line.slice(5).trim());
        if (until(line.slice(5).trim())) {
          controller.abort();
          return seen;
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!available)('limits shared by two instances on one Redis', () => {
  it('refuses one key past its running-generation limit on the second instance too; other keys go on; it works again once one ends', async () => {
    const options = { apiKeys: ['q1', 'q2'], limits: { streams: 2 } };
    const [a, b] = [await start(options), await start(options)];
    const first = await chat(a, 'q1');
    const second = await chat(b, 'q1');
    expect([first.status, second.status]).toEqual([200, 200]);
    for (const instance of [a, b]) {
      const refused = await errorOf(await chat(instance, 'q1'));
      expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(refused.message).toContain('`streams`');
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const other = await chat(b, 'q2');
    expect(other.status).toBe(200);
    // Stopped on B, the generation running on A frees its slot for both.
    const id = first.headers.get('x-stream-id') ?? '';
    expect((await fetch(`${b.url}/v1/streams/${id}`, { method: 'DELETE', headers: bearer('q1') })).status).toBe(202);
    await first.text();
    await vi.waitFor(async () => {
      const again = await chat(b, 'q1');
      expect(again.status).toBe(200);
      void again.body?.cancel();
    }, { timeout: 10_000, interval: 100 });
    releaseAll();
    await Promise.all([second.text(), other.text()]);
  });

  it('counts new generations per minute and topics on both instances', async () => {
    const options = { apiKeys: ['m1'], limits: { streams_per_minute: 2, topics: 2 } };
    const [a, b] = [await start(options), await start(options)];
    const one = await chat(a, 'm1');
    const two = await chat(b, 'm1');
    const refused = await errorOf(await chat(a, 'm1'));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused.message).toContain('`streams_per_minute`');
    expect((await publish(a, { topic: 't1', data: 1 }, 'm1')).status).toBe(202);
    expect((await publish(b, { topic: 't2', data: 1 }, 'm1')).status).toBe(202);
    const third = await errorOf(await publish(a, { topic: 't3', data: 1 }, 'm1'));
    expect(third.message).toContain('`topics`');
    releaseAll();
    await Promise.all([one.text(), two.text()]);
  });

  it('counts a per-minute limit in Redis for every instance, and accepts again once the window has passed', async () => {
    const store = createRedisStore({ url: redis.url, keyPrefix: `window-${randomUUID()}:` });
    // While Redis is not connected yet, each instance counts in its own memory (docs/limits.md).
    await vi.waitFor(async () => expect(await store.ready()).toBe(true), { timeout: 5000 });
    const backend = (): Promise<QuotaBackend | undefined> => Promise.resolve(store.quotaBackend!());
    // Two instances' quotas on one Redis, with a one-second window.
    const [a, b] = [createQuotas({ backend, limits: { publish_per_minute: 2 }, rateWindowS: 1 }), createQuotas({ backend, limits: { publish_per_minute: 2 }, rateWindowS: 1 })];
    await a.consume('key:w', 'publish_per_minute');
    await b.consume('key:w', 'publish_per_minute');
    await expect(a.consume('key:w', 'publish_per_minute')).rejects.toMatchObject({ status: 429, code: 'rate_limited', headers: { 'retry-after': '1' } });
    await expect(b.consume('key:w', 'publish_per_minute')).rejects.toMatchObject({ status: 429 });
    await vi.waitFor(() => b.consume('key:w', 'publish_per_minute'), { timeout: 3000, interval: 100 });
    a.close();
    b.close();
    await store.close();
  });

  it('lets the leases of an instance that died lapse by themselves', async () => {
    const store = createRedisStore({ url: redis.url, keyPrefix: `lease-${randomUUID()}:` });
    const { leases, keyPrefix } = store.quotaBackend!();
    const key = `${keyPrefix}streams:key:x`;
    expect(await leases.acquire(key, 'crashed-instance-run', 1, 300)).toBe(true);
    expect(await leases.acquire(key, 'other-run', 1, 300)).toBe(false);
    // Nobody renews the first lease (its instance is gone): it lapses.
    await vi.waitFor(async () => expect(await leases.acquire(key, 'other-run', 1, 30_000)).toBe(true), { timeout: 5000, interval: 100 });
    await leases.release(key, 'other-run');
    expect(await leases.acquire(key, 'third-run', 1, 30_000)).toBe(true);
    await store.close();
  });
});

describe.skipIf(!available)('the attacks on Redis', () => {
  it('another key neither reads nor publishes a key\'s topic', async () => {
    const a = await start({ apiKeys: ['o1', 'o2'] });
    const b = await start({ apiKeys: ['o1', 'o2'] });
    expect((await publish(a, { topic: 'news', data: 'o1-secret' }, 'o1')).status).toBe(202);
    const o2Seen = await subscribeUntil(b, 'news', 'o2', (data) => data === 'o2-own', async () => {
      expect((await publish(b, { topic: 'news', data: 'o2-own' }, 'o2')).status).toBe(202);
    });
    expect(o2Seen).toEqual(['o2-own']);
    const o1Seen = await subscribeUntil(b, 'news', 'o1', (data) => data === 'o1-secret');
    expect(o1Seen).toEqual(['o1-secret']);
  });

  it('keeps a topic\'s byte counter apart from every topic name (`t` and `t:bytes` are two topics)', async () => {
    const a = await start({ apiKeys: ['n1'] });
    expect((await publish(a, { topic: 'names', data: 'first' }, 'n1')).status).toBe(202);
    expect((await publish(a, { topic: 'names:bytes', data: 'second' }, 'n1')).status).toBe(202);
    expect(await subscribeUntil(a, 'names:bytes', 'n1', (data) => data === 'second')).toEqual(['second']);
    expect(await subscribeUntil(a, 'names', 'n1', (data) => data === 'first')).toEqual(['first']);
  });

  it('refuses the poisoned publish with 400 and the topic keeps working', async () => {
    const a = await start({ apiKeys: ['p1'] });
    expect((await publish(a, { topic: 'poison', data: 'before' }, 'p1')).status).toBe(202);
    const refused = await errorOf(await publish(a, `{"topic":"poison","data":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, 'p1'));
    expect(refused).toMatchObject({ status: 400, code: 'invalid_request' });
    const seen = await subscribeUntil(a, 'poison', 'p1', (data) => data === 'after', async () => {
      expect((await publish(a, { topic: 'poison', data: 'after' }, 'p1')).status).toBe(202);
    });
    expect(seen).toEqual(['before', 'after']);
  });

  it('a one-key flood of generations over two instances leaves another key\'s chats finishing', async () => {
    const options = { apiKeys: ['g1', 'g2'], limits: { streams: 4 } };
    const [a, b] = [await start(options), await start(options)];
    const statuses: number[] = [];
    const opened: Response[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await chat(i % 2 === 0 ? a : b, 'g1');
      statuses.push(response.status);
      if (response.status === 200) opened.push(response);
      else await response.body?.cancel();
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(4);
    expect(statuses.filter((status) => status === 429)).toHaveLength(36);
    const chats = await Promise.all([chat(a, 'g2'), chat(b, 'g2')]);
    expect(chats.map((response) => response.status)).toEqual([200, 200]);
    releaseAll();
    for (const response of chats) expect(await response.text()).toContain('event: finish');
    await Promise.all(opened.map((response) => response.text()));
  });

  it('refuses 1 MB events and keeps each topic\'s history under its byte cap (1 MiB) in Redis', async () => {
    const a = await start({ apiKeys: ['f1'], limits: { publish_per_minute: 0 } });
    const before = Number(/used_memory:(\d+)/.exec(await redisCommand(redis.port, ['INFO', 'memory']))?.[1]);
    for (let i = 0; i < 20; i++) expect((await publish(a, { topic: `flood-${i}`, data: 'x'.repeat(1_000_000) }, 'f1')).status).toBe(413);
    for (let i = 0; i < 60; i++) expect((await publish(a, { topic: 'flood', data: 'y'.repeat(60_000) }, 'f1')).status).toBe(202);
    const owner = createAuth(['f1']).ownerOf({ headers: bearer('f1') } as unknown as IncomingMessage) ?? '';
    const topicKey = `sluice:topic:~${encodeURIComponent(owner)}:flood`;
    const kept = Number(await redisCommand(redis.port, ['GET', `${topicKey}~bytes`]));
    expect(kept).toBeLessThanOrEqual(1024 * 1024);
    // `{"data":"…"}`: 60,011 bytes an event, so 17 of them fit in 1 MiB.
    expect(kept).toBe(17 * 60_011);
    expect(Number(await redisCommand(redis.port, ['XLEN', topicKey]))).toBe(17);
    const after = Number(/used_memory:(\d+)/.exec(await redisCommand(redis.port, ['INFO', 'memory']))?.[1]);
    console.log(`publish flood (Redis): 20 × 1 MB refused, 60 × 60 kB on one topic keep ${kept} bytes; Redis used_memory ${before} → ${after}`);
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
  });
});
