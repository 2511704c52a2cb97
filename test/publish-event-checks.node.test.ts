/**
 * The agent's `publish_event` publishes through the same path as `POST /v1/events`, with its
 * checks: data over `SLUICE_MAX_EVENT_BYTES` or past the key's `topics` quota is refused, and the
 * refusal is the call's tool-error (nothing published, no crash). Without keys, its publishes count
 * against the chat request's client address, like that client's own `POST /v1/events`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalApp, type LocalApp } from './helpers/local-app.ts';
import { publishApproved } from './approval-helpers.ts';

const K1 = { authorization: 'Bearer k1' };
const K3 = { authorization: 'Bearer k3' };

let local: LocalApp;

beforeAll(async () => {
  local = await startLocalApp({ env: { SLUICE_MAX_EVENT_BYTES: '200' }, apiKeys: ['k1', 'k3'], limits: { topics: 8 } });
});

afterAll(() => local.close());

describe('publish_event goes through the checks of POST /v1/events', () => {
  it('data over SLUICE_MAX_EVENT_BYTES: a tool-error saying so, nothing published', async () => {
    const { events, owner } = await publishApproved(local, 'big-topic', 'x'.repeat(400), K1);
    const failure = events.find((event) => event.type === 'tool-error');
    expect(failure?.data).toMatchObject({ toolName: 'publish_event' });
    expect((failure?.data as { message: string }).message).toMatch(/at most 200 \(SLUICE_MAX_EVENT_BYTES\)/);
    expect(events.some((event) => event.type === 'tool-result')).toBe(false);
    expect(await local.topicEvents('big-topic', owner)).toEqual([]);
  });

  it("past the key's topics quota: a tool-error naming the limit, nothing published", async () => {
    // k3 fills its quota of 8 topics with POST /v1/events.
    for (let i = 1; i <= 8; i++) expect((await local.post('/v1/events', { topic: `q-${i}`, data: 1 }, K3)).status).toBe(202);
    expect((await local.post('/v1/events', { topic: 'q-9', data: 1 }, K3)).status).toBe(429);
    const { events, owner } = await publishApproved(local, 'q-10', 'over quota', K3);
    const failure = events.find((event) => event.type === 'tool-error');
    expect((failure?.data as { message: string } | undefined)?.message).toMatch(/Limit `topics` reached/);
    expect(await local.topicEvents('q-10', owner)).toEqual([]);
    // A topic k3 already has is no new slot: the tool publishes there.
    const again = await publishApproved(local, 'q-1', 'same topic', K3);
    expect(again.events.some((event) => event.type === 'tool-result')).toBe(true);
  });
});

describe('without API keys, publish_event counts against the chat request’s client address', () => {
  /** Behind a trusted proxy (the loopback), each X-Forwarded-For is a client of its own. */
  const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });
  /** The message of the run's tool-error, or `published` when the call published. */
  const outcome = (events: { type: string; data: unknown }[]): string =>
    events.some((event) => event.type === 'tool-result') ? 'published' : ((events.find((event) => event.type === 'tool-error')?.data as { message?: string } | undefined)?.message ?? 'no tool call');

  it('one client using up its publish budget through the agent leaves another client’s intact', async () => {
    const keyless = await startLocalApp({ env: { SLUICE_TRUST_PROXY: '127.0.0.1' }, limits: { publish_per_minute: 2 } });
    try {
      // A's own POST /v1/events and its agent's publishes share one budget of 2 a minute.
      expect((await keyless.post('/v1/events', { topic: 'demo', data: 'by hand' }, from('203.0.113.7'))).status).toBe(202);
      expect(outcome((await publishApproved(keyless, 'demo', 'first', from('203.0.113.7'))).events)).toBe('published');
      expect(outcome((await publishApproved(keyless, 'demo', 'second', from('203.0.113.7'))).events)).toMatch(/Limit `publish_per_minute` reached/);
      // B, at another address, still publishes, by the agent and by hand.
      expect(outcome((await publishApproved(keyless, 'demo', 'from b', from('198.51.100.1'))).events)).toBe('published');
      expect((await keyless.post('/v1/events', { topic: 'demo', data: 'b by hand' }, from('198.51.100.1'))).status).toBe(202);
      expect((await keyless.topicEvents('demo', undefined)).map((event) => event.data)).toEqual(['by hand', { text: 'first' }, { text: 'from b' }, 'b by hand']);
    } finally {
      await keyless.close();
    }
  });

  it('addresses in one IPv6 /64 are one client', async () => {
    const keyless = await startLocalApp({ env: { SLUICE_TRUST_PROXY: '127.0.0.1' }, limits: { publish_per_minute: 1 } });
    try {
      expect(outcome((await publishApproved(keyless, 'demo', 'first', from('2001:db8:1:2::1'))).events)).toBe('published');
      expect(outcome((await publishApproved(keyless, 'demo', 'same /64', from('2001:db8:1:2::ffff'))).events)).toMatch(/Limit `publish_per_minute` reached/);
      expect(outcome((await publishApproved(keyless, 'demo', 'other /64', from('2001:db8:1:3::1'))).events)).toBe('published');
    } finally {
      await keyless.close();
    }
  });
});
