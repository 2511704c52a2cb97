/**
 * The attacks of issue 16 replayed against one instance on the memory store: owned topics (another
 * key neither reads nor publishes a key's topic; shared on purpose under a prefix), the poisoned
 * publish (400, the topic keeps working), the publish flood (refused before the store passes its
 * bound; the process survives; another key's chat finishes), a full store (503 store_full with
 * Retry-After, one log line, running streams unharmed), probes answered at the connection cap
 * while demo responses hold every slot, the demo's bounds, /metrics behind a key, no source maps.
 */
import { readdirSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp } from '../src/server/app.ts';
import { createLimitedServer } from '../src/server/limits.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { bearer, errorOf, heldApps, json, subscribeUntil, type HeldApp } from './helpers/held-app.ts';

const { start, closeAll } = heldApps();
afterAll(closeAll);

function publish(instance: HeldApp, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${instance.url}/v1/events`, { method: 'POST', headers: json(headers), body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('owned topics', () => {
  it('another key neither reads nor publishes a key\'s topic of the same name', async () => {
    const instance = await start({ apiKeys: ['k1', 'k2'] });
    expect((await publish(instance, { topic: 'news', data: 'k1-secret' }, bearer('k1'))).status).toBe(202);
    // k2 subscribes from the start of "news": its own history is empty, so the first thing it
    // sees is what it publishes itself, never k1's event.
    const k2Seen = await subscribeUntil(instance.url, 'news', bearer('k2'), (data) => data.includes('k2-own'), async () => {
      expect((await publish(instance, { topic: 'news', data: 'k2-own' }, bearer('k2'))).status).toBe(202);
    });
    expect(k2Seen).toEqual(['k2-own']);
    // k1's topic holds k1's event only: k2's publish went to k2's own topic.
    const k1Seen = await subscribeUntil(instance.url, 'news', bearer('k1'), (data) => data.includes('k1-later'), async () => {
      expect((await publish(instance, { topic: 'news', data: 'k1-later' }, bearer('k1'))).status).toBe(202);
    });
    expect(k1Seen).toEqual(['k1-secret', 'k1-later']);
  });

  it('shares the topics under SLUICE_SHARED_TOPIC_PREFIX between keys on purpose', async () => {
    const instance = await start({ apiKeys: ['k1', 'k2'], env: { SLUICE_SHARED_TOPIC_PREFIX: 'public/' } });
    expect((await publish(instance, { topic: 'public/news', data: 'for-everyone' }, bearer('k1'))).status).toBe(202);
    const seen = await subscribeUntil(instance.url, 'public/news', bearer('k2'), (data) => data.includes('for-everyone'));
    expect(seen).toEqual(['for-everyone']);
  });

  it('another key cannot follow a key\'s job', async () => {
    const instance = await start({ apiKeys: ['k1', 'k2'] });
    const created = await fetch(`${instance.url}/v1/jobs`, { method: 'POST', headers: json(bearer('k1')), body: JSON.stringify({ kind: 'report', topic: 'backpressure' }) });
    expect(created.status).toBe(202);
    const { events } = (await created.json()) as { events: string };
    expect((await fetch(`${instance.url}${events}`, { headers: bearer('k2') })).status).toBe(404);
    const own = await fetch(`${instance.url}${events}`, { headers: bearer('k1') });
    expect(own.status).toBe(200);
    await own.body?.cancel();
  });
});

describe('the poisoned publish', () => {
  it('refuses data nested 50,000 deep with 400, and the topic keeps working (replay and live)', async () => {
    const instance = await start();
    expect((await publish(instance, { topic: 'poison', data: 'before' })).status).toBe(202);
    const deep = `{"topic":"poison","data":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const refused = await errorOf(await publish(instance, deep));
    expect(refused).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(refused.message).toContain('deeper than 64');
    // 64 deep is fine.
    expect((await publish(instance, { topic: 'poison', data: JSON.parse(`${'['.repeat(63)}1${']'.repeat(63)}`) as unknown })).status).toBe(202);
    const seen = await subscribeUntil(instance.url, 'poison', {}, (data) => data.includes('after'), async () => {
      expect((await publish(instance, { topic: 'poison', data: 'after' })).status).toBe(202);
    });
    expect(seen[0]).toBe('before');
    expect(seen.at(-1)).toBe('after');
    expect(instance.errors).toEqual([]);
  });
});

describe('the publish flood', () => {
  it('refuses 1 MB events (413) and new topics past the key\'s share, keeps each topic under its byte cap, and another key\'s chat finishes', async () => {
    const maxTopicBytes = 128 * 1024;
    const store = createMemoryStore({ maxBytes: 4 * 1024 * 1024, maxTopicBytes });
    const instance = await start({ apiKeys: ['k1', 'k2'], store, limits: { topics: 8, publish_per_minute: 0 } });
    const rssBefore = process.memoryUsage().rss;
    const megabyte = 'x'.repeat(1_000_000);
    const statuses = new Map<number, number>();
    const count = (status: number): void => void statuses.set(status, (statuses.get(status) ?? 0) + 1);
    for (let i = 0; i < 40; i++) count((await publish(instance, { topic: `flood-${i}`, data: megabyte }, bearer('k1'))).status);
    expect(statuses).toEqual(new Map([[413, 40]]));
    statuses.clear();
    const chunk = 'y'.repeat(60_000);
    for (let i = 0; i < 200; i++) count((await publish(instance, { topic: `flood-${i % 20}`, data: chunk }, bearer('k1'))).status);
    // 8 topics accepted (each keeps its last 2 events: 128 KiB), the other 12 refused with 429.
    expect(statuses.get(202)).toBe(80);
    expect(statuses.get(429)).toBe(120);
    expect(store.bytes).toBeLessThanOrEqual(8 * maxTopicBytes);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.log(`publish flood (memory store): store ${store.bytes} bytes after 40 × 1 MB + 200 × 60 kB publishes; RSS growth ${(rssGrowth / 1048576).toFixed(1)} MiB`);
    expect(rssGrowth).toBeLessThan(256 * 1024 * 1024);
    // The process is fine and another key's chat runs to its end.
    expect((await fetch(`${instance.url}/healthz`)).status).toBe(200);
    const chat = await fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(bearer('k2')), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    expect(chat.status).toBe(200);
    instance.release();
    const text = await chat.text();
    expect(text).toContain('the answer');
    expect(text).toContain('event: finish');
  });

  it('refuses the newcomer with 503 store_full and Retry-After when the store is full, logs one line, and lets running streams finish', async () => {
    const store = createMemoryStore({ maxBytes: 4000 });
    const instance = await start({ apiKeys: ['k1', 'k2'], store, limits: { publish_per_minute: 0 } });
    // k2's generation is running before the flood.
    const running = await fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(bearer('k2')), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    expect(running.status).toBe(200);
    // k1 fills the newcomers' share (3000 of 4000 bytes) to the byte: `{"data":"…"}` is 11 bytes and the data.
    expect((await publish(instance, { topic: 'fill', data: 'z'.repeat(3000 - store.bytes - 11) }, bearer('k1'))).status).toBe(202);
    expect(store.bytes).toBe(3000);
    const full = await errorOf(await publish(instance, { topic: 'fill', data: 'z' }, bearer('k1')));
    expect(full).toMatchObject({ status: 503, code: 'store_full', retryAfter: '5' });
    // A new chat is refused before any byte, with a status, not a 200 that ends producer_lost.
    const newcomer = await errorOf(await fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(bearer('k2')), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) }));
    expect(newcomer).toMatchObject({ status: 503, code: 'store_full', retryAfter: '5' });
    expect(store.bytes).toBeLessThanOrEqual(4000);
    // The running stream has the last quarter to finish in.
    instance.release();
    const text = await running.text();
    expect(text).toContain('the answer');
    expect(text).toContain('event: finish');
    // One line per refusal (the publish's and the chat's), no stack trace.
    const lines = instance.warnings.filter((line) => line.includes('store_full'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^sluice: refused POST \/v1\/events \(503 store_full\): /);
    expect(lines[1]).toMatch(/^sluice: refused POST \/v1\/chat \(503 store_full\): /);
    for (const line of lines) expect(line).not.toContain('\n');
    expect(instance.errors).toEqual([]);
  });

  it('logs one line, not a stack trace, when the full store stops a running stream', async () => {
    const big: Provider = async function* bigModel() {
      yield { type: 'message-start', messageId: 'msg_big', model: 'big' } satisfies AgentEvent;
      yield { type: 'text-delta', id: 't', delta: 'b'.repeat(5000) } satisfies AgentEvent;
      yield { type: 'finish', finishReason: 'stop' } satisfies AgentEvent;
    };
    const instance = await start({ store: createMemoryStore({ maxBytes: 4000 }), models: createModelRegistry({ env: {}, providers: { local: big } }) });
    const response = await fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    await response.body?.cancel();
    await vi.waitFor(() => expect(instance.warnings.filter((line) => line.startsWith('sluice: a running stream was stopped: '))).toHaveLength(1), { timeout: 5000 });
    expect(instance.errors).toEqual([]);
  });

  it('counts stored bytes in UTF-8, not UTF-16 units', async () => {
    const store = createMemoryStore();
    await store.publish('t', { data: '数'.repeat(1000) });
    // `{"data":"…"}`: 11 ASCII bytes and 1000 characters of 3 bytes each.
    expect(store.bytes).toBe(11 + 3000);
    const writer = await store.create({ id: 's' });
    await writer.append({ type: 'text-delta', id: 't', delta: '😀'.repeat(100) });
    expect(store.bytes).toBe(11 + 3000 + JSON.stringify({ type: 'text-delta', id: 't', delta: '' }).length + 400);
    await store.close();
  });
});

/** A GET held open on a connection of its own; resolves with the response head. */
function hold(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

describe('health and demo routes', () => {
  it('answers /healthz and /readyz while held demo responses take every connection of the cap', async () => {
    const app = createApp({ env: {}, onWarn: () => {} });
    const server = createLimitedServer(app, { maxConnections: 50 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const held: IncomingMessage[] = [];
    try {
      for (let i = 0; i < 50; i++) held.push(await hold(`${base}/demo/numbers?count=100&interval_ms=1000`));
      expect(held.every((res) => res.statusCode === 200)).toBe(true);
      const over = await hold(`${base}/demo/numbers?count=2`);
      expect(over.statusCode).toBe(503);
      over.resume();
      for (const path of ['/healthz', '/readyz']) {
        const probe = await hold(`${base}${path}`);
        expect(probe.statusCode).toBe(200);
        probe.resume();
      }
    } finally {
      for (const res of held) res.destroy();
      await app.shutdown({ drainMs: 0 });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('counts demo responses against the caller\'s followers limit', async () => {
    const instance = await start({ limits: { followers: 2 } });
    const a = await hold(`${instance.url}/demo/numbers?count=100&interval_ms=1000`);
    const b = await hold(`${instance.url}/demo/numbers?count=100&interval_ms=1000`);
    const c = await fetch(`${instance.url}/demo/numbers?count=100&interval_ms=1000`);
    expect([a.statusCode, b.statusCode, c.status]).toEqual([200, 200, 429]);
    expect(((await c.json()) as { error: { message: string } }).error.message).toContain('`followers`');
    a.destroy();
    b.destroy();
  });

  it('bounds the demo\'s count, interval and total duration', async () => {
    const instance = await start();
    for (const query of ['count=10001', 'interval_ms=10001', 'count=1000&interval_ms=1000', 'count=100000&interval_ms=60000']) {
      const response = await fetch(`${instance.url}/demo/numbers?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_query');
    }
    const fine = await fetch(`${instance.url}/demo/numbers?count=3&interval_ms=0`);
    expect(await fine.text()).toBe('数字: 0\n数字: 1\n数字: 2\n');
  });

  it('needs a key for /metrics when keys are on', async () => {
    const keyed = await start({ apiKeys: ['k1'] });
    expect((await fetch(`${keyed.url}/metrics`)).status).toBe(401);
    const withKey = await fetch(`${keyed.url}/metrics`, { headers: bearer('k1') });
    expect(withKey.status).toBe(200);
    expect(await withKey.text()).toContain('sluice_rate_limited_total{limit="streams"} 0');
    const open = await start();
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
  });

  it('serves no source maps unless SLUICE_SOURCE_MAPS=on', async () => {
    const assets = readdirSync(new URL('../dist/web/assets/', import.meta.url));
    const map = assets.find((name) => name.endsWith('.js.map'));
    const script = assets.find((name) => name.endsWith('.js'));
    if (map === undefined || script === undefined) throw new Error('dist/web/assets has no .js and .js.map: run `npm run build`');
    const production = await start();
    expect((await fetch(`${production.url}/assets/${map}`)).status).toBe(404);
    expect((await fetch(`${production.url}/assets/${script}`)).status).toBe(200);
    const development = await start({ env: { SLUICE_SOURCE_MAPS: 'on' } });
    expect((await fetch(`${development.url}/assets/${map}`)).status).toBe(200);
  });
});

describe('a one-key flood of generations', () => {
  it('leaves another key\'s chats finishing', async () => {
    const store = createMemoryStore({ maxBytes: 64 * 1024 });
    const instance = await start({ apiKeys: ['k1', 'k2'], store, limits: { streams: 5 } });
    const statuses: number[] = [];
    const opened: Response[] = [];
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(bearer('k1')), body: JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(200) }] }) });
      statuses.push(response.status);
      if (response.status === 200) opened.push(response);
      else await response.body?.cancel();
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(45);
    const chats = await Promise.all(
      Array.from({ length: 3 }, () => fetch(`${instance.url}/v1/chat`, { method: 'POST', headers: json(bearer('k2')), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) })),
    );
    expect(chats.map((chat) => chat.status)).toEqual([200, 200, 200]);
    instance.release();
    for (const chat of chats) expect(await chat.text()).toContain('event: finish');
    await Promise.all(opened.map((response) => response.text()));
    await vi.waitFor(() => expect(instance.app.metrics.activeStreams.get()).resolves.toMatchObject({ values: [{ value: 0 }] }));
  });
});
