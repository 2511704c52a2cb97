/**
 * Two `sluice serve` instances on a private 3-master Redis Cluster (`REDIS_URL=redis+cluster://…`):
 * a stream started on A and resumed on B, an event published on A reaching a subscriber on B,
 * 200 concurrent resumes, and a stop sent to B ending a generation on A. The same checks as
 * test/streams-redis.node.test.ts on one Redis. Multi-process: runs in the sequential `timing` project.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAppInstance, type AppInstance } from './helpers/app-instance.ts';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.ts';
import { requireRedisServer } from './helpers/redis-server.ts';
import { agentEvents, expectConsecutive, readEvents, textOf, type ReceivedEvent } from './helpers/sse-events.ts';

const available = requireRedisServer();
const QUESTION = { messages: [{ role: 'user', content: 'What is backpressure?' }] };
const PACE = { SLUICE_LOCAL_TTFT_MS: '10', SLUICE_LOCAL_TPS: '150', SLUICE_LIMIT_STREAMS: '0', SLUICE_LIMIT_STREAMS_PER_MINUTE: '0' };

let cluster: RedisCluster;
let a: AppInstance;
let b: AppInstance;
let reference: ReceivedEvent[];

function post(target: AppInstance, path: string, body: unknown): Promise<Response> {
  return fetch(`${target.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function resume(target: AppInstance, id: string, lastEventId: number): Promise<Response> {
  return fetch(`${target.url}/v1/streams/${id}`, { headers: { 'last-event-id': String(lastEventId) } });
}

function comparable(events: readonly ReceivedEvent[]): unknown[] {
  return events.map(({ type, data }) => (type === 'message-start' ? { type } : data));
}

beforeAll(async () => {
  if (!available) return;
  cluster = await startRedisCluster();
  [a, b] = await Promise.all([startAppInstance({ REDIS_URL: cluster.url, ...PACE }), startAppInstance({ REDIS_URL: cluster.url, ...PACE })]);
  await vi.waitFor(async () => expect((await fetch(`${a.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  await vi.waitFor(async () => expect((await fetch(`${b.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  reference = agentEvents((await readEvents(await post(a, '/v1/chat', QUESTION))).events);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.close();
});

describe.skipIf(!available)('two instances on a 3-master Redis Cluster', () => {
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
