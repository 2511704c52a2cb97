/**
 * Quotas and rate limits on one instance (memory store): the running-generation limit per key
 * and per client address (429 with Retry-After naming the limit, other keys unaffected, works
 * again once a generation ends), forged and trusted X-Forwarded-For, the per-minute window, jobs,
 * followers and topics limits, and `sluice_rate_limited_total{limit}`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { addressBucket, clientAddress, parseTrustProxy } from '../src/server/quotas/client-address.ts';
import { createQuotas } from '../src/server/quotas/quotas.ts';
import { bearer, errorOf, heldApps, type HeldApp } from './helpers/held-app.ts';

const { start, closeAll } = heldApps();
afterAll(closeAll);

const CHAT = { messages: [{ role: 'user', content: 'hi' }] };

function chat(instance: HeldApp, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${instance.server.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(CHAT) });
}

async function rateLimitedTotal(instance: HeldApp, limit: string, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${instance.server.url}/metrics`, { headers })).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`sluice_rate_limited_total{limit="${limit}"} `));
  if (line === undefined) throw new Error(`no sluice_rate_limited_total{limit="${limit}"} in /metrics`);
  return Number(line.split(' ')[1]);
}

describe('the running-generation limit', () => {
  it('refuses one key past its limit with 429, Retry-After and code rate_limited naming the limit; other keys go on; it works again once one ends', async () => {
    const instance = await start({ apiKeys: ['k1', 'k2'], limits: { streams: 2 } });
    const first = await chat(instance, bearer('k1'));
    const second = await chat(instance, bearer('k1'));
    expect([first.status, second.status]).toEqual([200, 200]);

    const refused = await errorOf(await chat(instance, bearer('k1')));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.message).toContain('`streams`');
    expect(refused.message).toContain('SLUICE_LIMIT_STREAMS');
    expect(await rateLimitedTotal(instance, 'streams', bearer('k1'))).toBe(1);

    // Another key is unaffected.
    const other = await chat(instance, bearer('k2'));
    expect(other.status).toBe(200);

    // One of k1's generations is stopped: its slot is back.
    const id = first.headers.get('x-stream-id') ?? '';
    expect((await fetch(`${instance.server.url}/v1/streams/${id}`, { method: 'DELETE', headers: bearer('k1') })).status).toBe(202);
    await first.text();
    await vi.waitFor(async () => {
      const again = await chat(instance, bearer('k1'));
      expect(again.status).toBe(200);
      void again.body?.cancel();
    }, { timeout: 5000, interval: 50 });
    instance.release();
    await Promise.all([second.text(), other.text()]);
  });

  it('counts a disconnected generation lingering in its detach grace until it ends', async () => {
    const instance = await start({ apiKeys: ['k1'], limits: { streams: 1 }, detachGraceMs: 60_000 });
    const controller = new AbortController();
    const first = await fetch(`${instance.server.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer('k1') }, body: JSON.stringify(CHAT), signal: controller.signal });
    expect(first.status).toBe(200);
    controller.abort();
    // The client is gone, the generation waits to be resumed: it still counts.
    expect((await chat(instance, bearer('k1'))).status).toBe(429);
    instance.release();
    await vi.waitFor(async () => {
      const again = await chat(instance, bearer('k1'));
      expect(again.status).toBe(200);
      void again.body?.cancel();
    }, { timeout: 5000, interval: 50 });
  });

  it('counts per client address when auth is off; a forged X-Forwarded-For from an untrusted peer changes nothing', async () => {
    const instance = await start({ limits: { streams: 1 } });
    const first = await chat(instance);
    expect(first.status).toBe(200);
    const forged = await errorOf(await chat(instance, { 'x-forwarded-for': '203.0.113.7' }));
    expect(forged).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(forged.message).toContain('this client address');
    instance.release();
    await first.text();
  });

  it('believes X-Forwarded-For from a proxy named in SLUICE_TRUST_PROXY: each client behind it has its own limit', async () => {
    const instance = await start({ env: { SLUICE_TRUST_PROXY: '127.0.0.1' }, limits: { streams: 1 } });
    const a = await chat(instance, { 'x-forwarded-for': '203.0.113.7' });
    expect(a.status).toBe(200);
    // The same client again: refused; another client behind the proxy: its own slot.
    expect((await chat(instance, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(429);
    // A client that forges a hop in front of the proxy's: the proxy's hop (rightmost) counts.
    expect((await chat(instance, { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).status).toBe(429);
    const b = await chat(instance, { 'x-forwarded-for': '203.0.113.8' });
    expect(b.status).toBe(200);
    instance.release();
    await Promise.all([a.text(), b.text()]);
  });

  it('counts non-streaming completions too', async () => {
    const instance = await start({ limits: { streams: 1 } });
    const first = await chat(instance);
    const completion = await fetch(`${instance.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(completion.status).toBe(429);
    instance.release();
    await first.text();
  });
});

describe('the other limits', () => {
  it('refuses a job past SLUICE_LIMIT_JOBS and the stream limit per minute past SLUICE_LIMIT_STREAMS_PER_MINUTE', async () => {
    const instance = await start({ env: { SLUICE_LIMIT_JOBS: '1', SLUICE_LIMIT_STREAMS_PER_MINUTE: '3' } });
    const job = (): Promise<Response> =>
      fetch(`${instance.server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'report', topic: 'backpressure' }) });
    const first = await job();
    expect(first.status).toBe(202);
    const second = await errorOf(await job());
    expect(second).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(second.message).toContain('`jobs`');
    // Three new generations counted this minute (two jobs asked, one chat): the fourth is refused.
    const a = await chat(instance);
    expect(a.status).toBe(200);
    const perMinute = await errorOf(await chat(instance));
    expect(perMinute).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(perMinute.message).toContain('`streams_per_minute`');
    expect(Number(perMinute.retryAfter)).toBeGreaterThan(1);
    expect(Number(perMinute.retryAfter)).toBeLessThanOrEqual(60);
    instance.release();
    await a.text();
  });

  it('refuses a follower past SLUICE_LIMIT_FOLLOWERS, and a subscription too', async () => {
    const instance = await start({ apiKeys: ['k1', 'k2'], limits: { followers: 1 } });
    const first = await chat(instance, bearer('k1'));
    const id = first.headers.get('x-stream-id') ?? '';
    const resume = (key: string): Promise<Response> => fetch(`${instance.server.url}/v1/streams/${id}`, { headers: bearer(key) });
    const follower = await resume('k1');
    expect(follower.status).toBe(200);
    const refused = await errorOf(await resume('k1'));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused.message).toContain('`followers`');
    const subscription = await errorOf(await fetch(`${instance.server.url}/v1/events?topic=t`, { headers: bearer('k1') }));
    expect(subscription.status).toBe(429);
    // k2's own subscription is its own count.
    const k2 = await fetch(`${instance.server.url}/v1/events?topic=t`, { headers: bearer('k2') });
    expect(k2.status).toBe(200);
    await k2.body?.cancel();
    instance.release();
    await Promise.all([first.text(), follower.text()]);
    // The follower ended: its slot is back.
    await vi.waitFor(async () => {
      const sub = await fetch(`${instance.server.url}/v1/events?topic=t`, { headers: bearer('k1') });
      expect(sub.status).toBe(200);
      await sub.body?.cancel();
    }, { timeout: 5000, interval: 50 });
  });

  it('counts a file download as a follower while it is sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-quota-files-'));
    // Larger than the socket buffers: the first download stays open while its client does not read.
    writeFileSync(join(dir, 'big.bin'), new Uint8Array(32 * 1024 * 1024));
    try {
      const instance = await start({ apiKeys: ['k1', 'k2'], limits: { followers: 1 }, filesDir: dir });
      const download = (key: string): Promise<Response> => fetch(`${instance.server.url}/v1/files/big.bin`, { headers: bearer(key) });
      const held = await download('k1');
      expect(held.status).toBe(200);
      const refused = await errorOf(await download('k1'));
      expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(refused.message).toContain('`followers`');
      // Another key has its own count.
      const other = await download('k2');
      expect(other.status).toBe(200);
      await other.body?.cancel();
      // The held download is dropped: its slot is back.
      await held.body?.cancel();
      await vi.waitFor(async () => {
        const again = await download('k1');
        expect(again.status).toBe(200);
        await again.body?.cancel();
      }, { timeout: 5000, interval: 50 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses publishes past SLUICE_LIMIT_PUBLISH_PER_MINUTE and new topics past SLUICE_LIMIT_TOPICS', async () => {
    const instance = await start({ limits: { publish_per_minute: 5, topics: 2 } });
    const publish = (topic: string): Promise<Response> =>
      fetch(`${instance.server.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic, data: 1 }) });
    expect((await publish('a')).status).toBe(202);
    expect((await publish('b')).status).toBe(202);
    const third = await errorOf(await publish('c'));
    expect(third).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(third.message).toContain('`topics`');
    // The two topics it has go on taking events until the per-minute limit (the refused one cost no point).
    expect((await publish('a')).status).toBe(202);
    expect((await publish('b')).status).toBe(202);
    expect((await publish('a')).status).toBe(202);
    const perMinute = await errorOf(await publish('b'));
    expect(perMinute.message).toContain('`publish_per_minute`');
    expect(await rateLimitedTotal(instance, 'publish_per_minute')).toBe(1);
    expect(await rateLimitedTotal(instance, 'topics')).toBe(1);
  });
});

describe('the startup log', () => {
  it('says which limits are in force and whom they count against', async () => {
    const keyed = createApp({ env: { SLUICE_LIMIT_STREAMS: '3', SLUICE_LIMIT_TOPICS: '0' }, apiKeys: ['k'], onWarn: () => {} });
    expect(keyed.describe()).toContain(
      'limits per API key: 3 running generations, 120 new a minute, 10 jobs, 256 followers, 600 publishes a minute, no limit topics (SLUICE_LIMIT_*, see docs/limits.md)',
    );
    const open = createApp({ env: {}, onWarn: () => {} });
    expect(open.describe().some((line) => line.startsWith('limits per client address: 20 running generations'))).toBe(true);
    await Promise.all([keyed.shutdown({ drainMs: 0 }), open.shutdown({ drainMs: 0 })]);
    expect(() => createApp({ env: { SLUICE_LIMIT_STREAMS: 'many' } })).toThrow('Expected SLUICE_LIMIT_STREAMS to be a whole number ≥ 0 (0 turns the limit off), got "many".');
  });
});

describe('per-minute windows and client addresses', () => {
  it('refuses past the window\'s points and accepts again once the window has passed', async () => {
    const quotas = createQuotas({ limits: { publish_per_minute: 2 }, rateWindowS: 1 });
    await quotas.consume('key:a', 'publish_per_minute');
    await quotas.consume('key:a', 'publish_per_minute');
    await expect(quotas.consume('key:a', 'publish_per_minute')).rejects.toMatchObject({ status: 429, code: 'rate_limited', headers: { 'retry-after': '1' } });
    await quotas.consume('key:b', 'publish_per_minute');
    await vi.waitFor(() => quotas.consume('key:a', 'publish_per_minute'), { timeout: 3000, interval: 100 });
    quotas.close();
  });

  const request = (remoteAddress: string, forwarded?: string): IncomingMessage =>
    ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

  it('reads X-Forwarded-For only from trusted peers, from the right, past trusted proxies', () => {
    const none = parseTrustProxy(undefined);
    expect(clientAddress(request('198.51.100.9', '203.0.113.7'), none)).toBe('198.51.100.9');
    const trusted = parseTrustProxy('10.0.0.0/8, ::1, 127.0.0.1');
    expect(clientAddress(request('::ffff:10.1.2.3', '203.0.113.7'), trusted)).toBe('203.0.113.7');
    expect(clientAddress(request('10.1.2.3', '1.2.3.4, 203.0.113.7, 10.9.9.9'), trusted)).toBe('203.0.113.7');
    expect(clientAddress(request('::1', 'garbage, 203.0.113.7'), trusted)).toBe('203.0.113.7');
    expect(clientAddress(request('10.1.2.3', 'not-an-address'), trusted)).toBe('10.1.2.3');
    expect(clientAddress(request('198.51.100.9', '203.0.113.7'), trusted)).toBe('198.51.100.9');
    expect(() => parseTrustProxy('10.0.0.0/33')).toThrow(RangeError);
    expect(() => parseTrustProxy('proxy.example')).toThrow(RangeError);
  });

  it('counts IPv4 clients per address and IPv6 clients per /64', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0db8:0001:0002:ffff::')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:3::9')).toBe('2001:db8:1:3::/64');
    expect(addressBucket('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('unknown')).toBe('unknown');
  });
});
