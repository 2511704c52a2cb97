/**
 * Streams that outlive their connections across instances: several `sluice serve` processes on
 * one private Redis. Resume on another instance, event push across instances, 200 concurrent
 * resumes, a producer killed with SIGKILL (followers get `producer_lost`), SIGTERM while 50
 * streams are followed (every client finishes its answer on the other instance), and readiness
 * while Redis is unreachable. Slow and multi-process: runs in the sequential `timing` project.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchEventStream } from '../src/sse/client.ts';
import type { SseEvent } from '../src/sse/types.ts';
import { startAppInstance, type AppInstance } from './helpers/app-instance.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { agentEvents, expectConsecutive, readEvents, textOf, type ReceivedEvent } from './helpers/sse-events.ts';

const available = requireRedisServer();
const QUESTION = { messages: [{ role: 'user', content: 'What is backpressure?' }] };
// 50 clients from one address at once: more than the default per-address limits (docs/limits.md) allow.
const PACE = { SLUICE_LOCAL_TTFT_MS: '10', SLUICE_LOCAL_TPS: '150', SLUICE_LIMIT_STREAMS: '0', SLUICE_LIMIT_STREAMS_PER_MINUTE: '0' };

let redis: RedisServer;
let a: AppInstance;
let b: AppInstance;
let reference: ReceivedEvent[];
const extra: AppInstance[] = [];

async function instance(env: Record<string, string> = {}): Promise<AppInstance> {
  const started = await startAppInstance({ REDIS_URL: redis.url, ...PACE, ...env });
  extra.push(started);
  return started;
}

function post(target: AppInstance, path: string, body: unknown): Promise<Response> {
  return fetch(`${target.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function resume(target: AppInstance, id: string, lastEventId: number): Promise<Response> {
  return fetch(`${target.url}/v1/streams/${id}`, { headers: { 'last-event-id': String(lastEventId) } });
}

function comparable(events: readonly ReceivedEvent[]): unknown[] {
  return events.map(({ type, data }) => (type === 'message-start' ? { type } : data));
}

/** Fails with `message` unless `promise` settles within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  if (!available) return;
  redis = await startRedisServer();
  [a, b] = await Promise.all([startAppInstance({ REDIS_URL: redis.url, ...PACE }), startAppInstance({ REDIS_URL: redis.url, ...PACE })]);
  await vi.waitFor(async () => expect((await fetch(`${a.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  await vi.waitFor(async () => expect((await fetch(`${b.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  reference = agentEvents((await readEvents(await post(a, '/v1/chat', QUESTION))).events);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), ...extra.map((started) => started.stop())]);
  await redis?.close();
});

describe.skipIf(!available)('two instances on one Redis', () => {
  it('a stream started on A, dropped after a few events and resumed on B yields every event once, the same answer', async () => {
    expect(reference.at(-1)?.type).toBe('finish');
    const first = await post(a, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const head = agentEvents((await readEvents(first, 5)).events);
    const rest = await readEvents(await resume(b, id, 5));
    expect(rest.ended).toBe(true);
    const all = [...head, ...agentEvents(rest.events)];
    expectConsecutive(all);
    expect(comparable(all)).toEqual(comparable(reference));
    expect(textOf(all)).toBe(textOf(reference));
  });

  it('an event published on A reaches a subscriber on B', async () => {
    const topic = `t-${crypto.randomUUID()}`;
    const publish = async (data: unknown): Promise<string> => {
      const response = await post(a, '/v1/events', { topic, event: 'note', data });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const firstId = await publish({ n: 1 });
    // Subscribing after the first event: the second arrives once, by replay or live.
    const subscriber = await fetch(`${b.url}/v1/events?topic=${topic}`, { headers: { 'last-event-id': firstId } });
    const secondId = await publish({ n: 2 });
    const { events } = await readEvents(subscriber, 1);
    expect(events).toEqual([{ event: 'note', id: secondId, data: '{"n":2}' }]);
  });

  it('200 concurrent resumes on B of live streams started on A lose and duplicate nothing', async () => {
    const firsts = await Promise.all(Array.from({ length: 20 }, () => post(a, '/v1/chat', QUESTION)));
    const ids = firsts.map((response) => response.headers.get('x-stream-id')!);
    await Promise.all(firsts.map((response) => readEvents(response, 1)));
    const results = await Promise.all(
      ids.flatMap((id) => Array.from({ length: 10 }, async (_, after) => ({ after, events: agentEvents((await readEvents(await resume(b, id, after))).events) }))),
    );
    expect(results).toHaveLength(200);
    for (const { after, events } of results) {
      expectConsecutive(events, after + 1);
      expect(comparable(events)).toEqual(comparable(reference.slice(after)));
    }
  });

  it('DELETE on B stops a generation running on A: every follower ends with abort', async () => {
    const first = await post(a, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const onB = await resume(b, id, 0);
    await readEvents(first, 2);
    const stop = await fetch(`${b.url}/v1/streams/${id}`, { method: 'DELETE' });
    expect(stop.status).toBe(202);
    const events = agentEvents((await readEvents(onB)).events);
    expectConsecutive(events);
    expect(events.at(-1)).toMatchObject({ type: 'abort', data: { reason: 'stopped' } });
  });
});

describe.skipIf(!available)('producers that go away', () => {
  it('the producer killed with SIGKILL mid-stream: a follower on B gets the events so far, then producer_lost within 15 s', async () => {
    // No takeovers for its runs: what a follower sees when nobody continues (takeover-redis tests the rest).
    const doomed = await instance({ SLUICE_MAX_TAKEOVERS: '0' });
    const first = await post(doomed, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    await readEvents(first, 5);
    const follower = await resume(b, id, 0);
    const reader = readEvents(follower);
    doomed.kill('SIGKILL');
    await doomed.exited;
    const killedAt = performance.now();
    const { events, ended } = await within(reader, 15_000, 'the follower on B did not end within 15 s of the producer being killed');
    console.log(`producer_lost reached the follower ${Math.round(performance.now() - killedAt)} ms after SIGKILL`);
    expect(ended).toBe(true);
    const received = agentEvents(events);
    expectConsecutive(received);
    expect(received.length).toBeGreaterThanOrEqual(6);
    expect(received.at(-1)).toMatchObject({ type: 'error', data: { code: 'producer_lost' } });
    expect(comparable(received.slice(0, -1))).toEqual(comparable(reference.slice(0, received.length - 1)));
  });

  it('SIGTERM on one of two instances while 50 streams are followed: every client finishes its answer on the other', async () => {
    // Runs that cannot be taken over: the drain lets them finish here (takeover-redis tests the hand-over).
    const leaving = await instance({ SLUICE_DRAIN_MS: '60000', SLUICE_LOCAL_TPS: '200', SLUICE_MAX_TAKEOVERS: '0' });
    let started = 0;
    let allStarted!: () => void;
    const fiftyStarted = new Promise<void>((resolve) => (allStarted = resolve));
    const resumedOnB: string[] = [];
    const client = async (): Promise<SseEvent[]> => {
      const events: SseEvent[] = [];
      const stream = fetchEventStream(`${leaving.url}/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(QUESTION),
        retryDelay: 50,
        // Behind a balancer the reconnection would go to a live instance; here it is B.
        resumeUrl: (response) => `${b.url}/v1/streams/${response.headers.get('x-stream-id')}`,
        onReconnect: (info) => resumedOnB.push(info.url),
      });
      for await (const event of stream) {
        events.push(event);
        if (events.length === 3 && ++started === 50) allStarted();
      }
      return events;
    };
    const clients = Array.from({ length: 50 }, client);
    await within(fiftyStarted, 30_000, 'the 50 streams did not all start');
    leaving.kill('SIGTERM');
    const results = await Promise.all(clients);
    for (const events of results) {
      const received = agentEvents(events);
      expectConsecutive(received);
      expect(comparable(received)).toEqual(comparable(reference));
    }
    expect(resumedOnB.length).toBeGreaterThanOrEqual(50);
    expect(resumedOnB.every((url) => url.startsWith(b.url))).toBe(true);
    expect(await within(leaving.exited, 70_000, 'the instance did not exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(leaving.output()).toContain('SIGTERM');
  }, 120_000);
});

describe.skipIf(!available)('Redis unreachable', () => {
  it('starts, says so, answers /readyz 503 until Redis is up, then 200', async () => {
    // A Redis that is not running yet: started on a free port, then killed; restarted later.
    const late = await startRedisServer();
    await late.kill();
    const lonely = await startAppInstance({ REDIS_URL: late.url, ...PACE });
    extra.push(lonely);
    const notReady = await fetch(`${lonely.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { error: { code: string } }).error.code).toBe('not_ready');
    await vi.waitFor(() => expect(lonely.output()).toMatch(/Redis .*unreachable/), { timeout: 15_000, interval: 100 });
    await late.restart();
    try {
      await vi.waitFor(async () => expect((await fetch(`${lonely.url}/readyz`)).status).toBe(200), { timeout: 20_000, interval: 200 });
      // An outage mid-stream ends the stream with an error event.
      const first = await post(lonely, '/v1/chat', QUESTION);
      expect(first.status).toBe(200);
      const reading = readEvents(first);
      await late.kill();
      const { events } = await within(reading, 20_000, 'the stream did not end after Redis went away');
      expect(events.at(-1)?.event).toBe('error');
      await vi.waitFor(async () => expect((await fetch(`${lonely.url}/readyz`)).status).toBe(503), { timeout: 10_000, interval: 200 });
    } catch (error) {
      await late.close();
      throw error;
    }
    // Redis comes back: the instance recovers by itself.
    await late.restart();
    const back = late;
    try {
      await vi.waitFor(async () => expect((await fetch(`${lonely.url}/readyz`)).status).toBe(200), { timeout: 20_000, interval: 200 });
      const again = agentEvents((await readEvents(await post(lonely, '/v1/chat', QUESTION))).events);
      expectConsecutive(again);
      expect(comparable(again)).toEqual(comparable(reference));
      expect(lonely.output()).toMatch(/Redis .*reachable now/);
    } finally {
      await back.close();
    }
  });
});
