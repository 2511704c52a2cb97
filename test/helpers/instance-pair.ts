/**
 * Two `sluice serve` instances on one shared Redis (a single server or a cluster), and the checks
 * every such pair must pass: a stream resumed on the other instance, an event published on one
 * reaching a subscriber on the other, 200 concurrent resumes, a stop sent to the other instance.
 * test/streams-redis.node.test.ts runs them on one Redis, test/streams-redis-cluster.node.test.ts on
 * a 3-master cluster.
 */
import { expect, it, vi } from 'vitest';
import { startAppInstance, type AppInstance } from './app-instance.ts';
import { agentEvents, expectConsecutive, readEvents, textOf, type ReceivedEvent } from './sse-events.ts';

export const QUESTION = { messages: [{ role: 'user', content: 'What is backpressure?' }] };
/** A fast local model, and no per-address limits: the tests send many chats from one address at once. */
export const PACE = { SLUICE_LOCAL_TTFT_MS: '10', SLUICE_LOCAL_TPS: '150', SLUICE_LIMIT_STREAMS: '0', SLUICE_LIMIT_STREAMS_PER_MINUTE: '0' };

/** A JSON `POST` to an instance. */
export function post(target: AppInstance, path: string, body: unknown): Promise<Response> {
  return fetch(`${target.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Resumes stream `id` on `target` after event `lastEventId`. */
export function resume(target: AppInstance, id: string, lastEventId: number): Promise<Response> {
  return fetch(`${target.url}/v1/streams/${id}`, { headers: { 'last-event-id': String(lastEventId) } });
}

/** Events as two runs of the same answer share them (a message's id differs). */
export function comparable(events: readonly ReceivedEvent[]): unknown[] {
  return events.map(({ type, data }) => (type === 'message-start' ? { type } : data));
}

/** Two ready instances on one store, and the answer to {@link QUESTION} read whole from A. */
export interface InstancePair {
  a: AppInstance;
  b: AppInstance;
  reference: ReceivedEvent[];
}

/**
 * Starts two instances on `redisUrl`, waits until both are ready, and reads the reference answer.
 * @param redisUrl - `REDIS_URL` (`redis://…` or `redis+cluster://…`)
 */
export async function startInstancePair(redisUrl: string): Promise<InstancePair> {
  const [a, b] = await Promise.all([startAppInstance({ REDIS_URL: redisUrl, ...PACE }), startAppInstance({ REDIS_URL: redisUrl, ...PACE })]);
  await vi.waitFor(async () => expect((await fetch(`${a.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  await vi.waitFor(async () => expect((await fetch(`${b.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
  const reference = agentEvents((await readEvents(await post(a, '/v1/chat', QUESTION))).events);
  return { a, b, reference };
}

/**
 * Declares (inside a `describe`) the checks every pair of instances on one store passes.
 * @param pair - the pair, once `beforeAll` started it
 */
export function itResumesAcrossInstances(pair: () => InstancePair): void {
  it('a stream started on A, dropped after a few events and resumed on B yields every event once, the same answer', async () => {
    const { a, b, reference } = pair();
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
    const { a, b } = pair();
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
    const { a, b, reference } = pair();
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
    const { a, b } = pair();
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
}
