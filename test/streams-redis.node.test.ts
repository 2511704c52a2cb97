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
import { within } from './helpers/http.ts';
import { comparable, itResumesAcrossInstances, PACE, post, QUESTION, resume, startInstancePair } from './helpers/instance-pair.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { agentEvents, expectConsecutive, readEvents, type ReceivedEvent } from './helpers/sse-events.ts';

const available = requireRedisServer();
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

beforeAll(async () => {
  if (!available) return;
  redis = await startRedisServer();
  ({ a, b, reference } = await startInstancePair(redis.url));
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), ...extra.map((started) => started.stop())]);
  await redis?.close();
});

describe.skipIf(!available)('two instances on one Redis', () => {
  itResumesAcrossInstances(() => ({ a, b, reference }));
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
