/**
 * Tool approval across instances: two `sluice serve` processes on one private Redis. The run waits
 * on A with nobody following (detach grace 0), the decision is posted to B, A goes on; the stream
 * resumed on B shows the request, the response and the result in order; a second answer is 409;
 * an unanswered request is denied with reason `timeout` and the run still finishes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAppInstance, type AppInstance } from './helpers/app-instance.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { agentEvents, expectConsecutive, readEvents, textOf } from './helpers/sse-events.ts';
import { publishQuestion, readUntil, typesOf } from './approval-helpers.ts';

const available = requireRedisServer();
const ENV = { SLUICE_LOCAL_TTFT_MS: '5', SLUICE_LOCAL_TPS: '400', SLUICE_DETACH_GRACE_MS: '0' };

let redis: RedisServer;
let a: AppInstance;
let b: AppInstance;

function post(target: AppInstance, path: string, body: unknown): Promise<Response> {
  return fetch(`${target.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  if (!available) return;
  redis = await startRedisServer();
  [a, b] = await Promise.all([
    startAppInstance({ REDIS_URL: redis.url, ...ENV }),
    startAppInstance({ REDIS_URL: redis.url, ...ENV, SLUICE_APPROVAL_TIMEOUT_MS: '400' }),
  ]);
  for (const instance of [a, b]) await vi.waitFor(async () => expect((await fetch(`${instance.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.close();
});

describe.skipIf(!available)('approval on two instances', () => {
  it('the run waits on A with no follower, the approval posted to B, A publishes; the stream resumed on B shows request, response, result in order', async () => {
    const topic = `ops-${crypto.randomUUID().slice(0, 8)}`;
    const subscriber = await fetch(`${b.url}/v1/events?topic=${topic}`);
    const first = await post(a, '/v1/chat', publishQuestion(topic));
    expect(first.status).toBe(200);
    const id = first.headers.get('x-stream-id')!;
    // Read up to the request, then leave: with a detach grace of 0 only the approval keeps the run alive.
    const head = await readUntil(first, (event) => event.type === 'approval-request');
    const request = head.at(-1)!.data as { approvalId: string; toolCallId: string; toolName: string; input: { topic: string } };
    expect(request).toMatchObject({ toolName: 'publish_event', input: { topic, data: { text: 'deploy done' } } });
    // Long enough for the grace check to have run had the hold not been there (it runs every 100 ms at grace 0).
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await fetch(`${b.url}/v1/streams/${id}`, { method: 'HEAD' })).status).toBe(200);

    const answer = await post(b, `/v1/streams/${id}/approvals/${request.approvalId}`, { approved: true });
    expect(answer.status).toBe(202);
    const again = await post(a, `/v1/streams/${id}/approvals/${request.approvalId}`, { approved: false });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('already_answered');
    expect((await post(b, `/v1/streams/${id}/approvals/approval-unknown`, { approved: true })).status).toBe(404);
    expect((await post(b, `/v1/streams/${crypto.randomUUID()}/approvals/${request.approvalId}`, { approved: true })).status).toBe(404);

    const { events, ended } = await readEvents(await fetch(`${b.url}/v1/streams/${id}`, { headers: { 'last-event-id': '0' } }));
    expect(ended).toBe(true);
    const all = agentEvents(events);
    expectConsecutive(all);
    expect(typesOf(all, ['tool-call', 'approval-request', 'approval-response', 'tool-result', 'finish'])).toEqual([
      'tool-call',
      'approval-request',
      'approval-response',
      'tool-result',
      'finish',
    ]);
    expect(all.find((event) => event.type === 'approval-response')?.data).toEqual({ type: 'approval-response', approvalId: request.approvalId, approved: true });
    const result = all.find((event) => event.type === 'tool-result')!.data as { output: { id: string } };
    expect(textOf(all)).toContain(result.output.id);
    // The event was really published: the subscriber on B has it.
    const published = (await readEvents(subscriber, 1)).events[0];
    expect(published).toMatchObject({ id: result.output.id });
    expect(JSON.parse(published!.data)).toEqual({ text: 'deploy done' });
  });

  it('an unanswered request is denied with reason timeout, the model is told, and the run finishes', async () => {
    const first = await post(b, '/v1/chat', publishQuestion('ops-timeout'));
    const { events, ended } = await readEvents(first);
    expect(ended).toBe(true);
    const all = agentEvents(events);
    expectConsecutive(all);
    expect(typesOf(all, ['approval-request', 'approval-response', 'tool-output-denied', 'tool-result', 'finish'])).toEqual([
      'approval-request',
      'approval-response',
      'tool-output-denied',
      'finish',
    ]);
    expect(all.find((event) => event.type === 'approval-response')?.data).toMatchObject({ approved: false, reason: 'timeout' });
    expect(all.find((event) => event.type === 'tool-output-denied')?.data).toMatchObject({ toolName: 'publish_event', reason: 'timeout' });
    expect(textOf(all)).toMatch(/not approved \(nobody answered in time\), so I did not run it and nothing was published/);
    const approvalId = (all.find((event) => event.type === 'approval-request')!.data as { approvalId: string }).approvalId;
    // The timeout was the first answer: a late one gets 409.
    expect((await post(a, `/v1/streams/${first.headers.get('x-stream-id')}/approvals/${approvalId}`, { approved: true })).status).toBe(409);
  });
});
