/**
 * The agent's `publish_event` publishes through the same path as `POST /v1/events`, with its
 * checks: data over `SLUICE_MAX_EVENT_BYTES` or past the key's `topics` quota is refused, and the
 * refusal is the call's tool-error (nothing published, no crash).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { TopicEvent } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { publishQuestion, readUntil } from './approval-helpers.ts';

const K1 = { authorization: 'Bearer k1' };
const K3 = { authorization: 'Bearer k3' };

const store = createMemoryStore();
let app: AppHandler;
let server: TestServer;

beforeAll(async () => {
  const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
  app = createApp({
    env: { SLUICE_MAX_EVENT_BYTES: '200' },
    apiKeys: ['k1', 'k3'],
    store,
    limits: { topics: 8 },
    models: createModelRegistry({ env: {}, providers: { local } }),
  });
  server = await startServer(app);
});

afterAll(async () => {
  await app.shutdown({ drainMs: 0 });
  await server.close();
  await store.close();
});

function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function topicEvents(topic: string, owner: string | undefined): Promise<TopicEvent[]> {
  const controller = new AbortController();
  const events: TopicEvent[] = [];
  const reading = (async () => {
    for await (const event of store.subscribe(topic, { after: '0', signal: controller.signal, owner })) events.push(event);
  })();
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort();
  await reading.catch(() => undefined);
  return events;
}

describe('publish_event goes through the checks of POST /v1/events', () => {
  /** Asks the local model to publish `text` on `topic` (native protocol), approves, and returns the call's events. */
  async function publishApproved(topic: string, text: string, headers = K1): Promise<{ events: { type: string; data: unknown }[]; owner: string | undefined }> {
    const response = await post('/v1/chat', publishQuestion(topic, text), headers);
    const id = response.headers.get('x-stream-id')!;
    const head = await readUntil(response, (event) => event.type === 'approval-request');
    const { approvalId } = head.at(-1)!.data as { approvalId: string };
    const answer = await post(`/v1/streams/${id}/approvals/${approvalId}`, { approved: true }, headers);
    expect(answer.status).toBe(202);
    const resumed = await fetch(`${server.url}/v1/streams/${id}`, { headers: { ...headers, accept: 'text/event-stream' } });
    const events = await readUntil(resumed, (event) => event.type === 'finish' || event.type === 'error');
    return { events, owner: (await store.info(id))?.owner };
  }

  it('data over SLUICE_MAX_EVENT_BYTES: a tool-error saying so, nothing published', async () => {
    const { events, owner } = await publishApproved('big-topic', 'x'.repeat(400));
    const failure = events.find((event) => event.type === 'tool-error');
    expect(failure?.data).toMatchObject({ toolName: 'publish_event' });
    expect((failure?.data as { message: string }).message).toMatch(/at most 200 \(SLUICE_MAX_EVENT_BYTES\)/);
    expect(events.some((event) => event.type === 'tool-result')).toBe(false);
    expect(await topicEvents('big-topic', owner)).toEqual([]);
  });

  it("past the key's topics quota: a tool-error naming the limit, nothing published", async () => {
    // k3 fills its quota of 8 topics with POST /v1/events.
    for (let i = 1; i <= 8; i++) expect((await post('/v1/events', { topic: `q-${i}`, data: 1 }, K3)).status).toBe(202);
    expect((await post('/v1/events', { topic: 'q-9', data: 1 }, K3)).status).toBe(429);
    const { events, owner } = await publishApproved('q-10', 'over quota', K3);
    const failure = events.find((event) => event.type === 'tool-error');
    expect((failure?.data as { message: string } | undefined)?.message).toMatch(/Limit `topics` reached/);
    expect(await topicEvents('q-10', owner)).toEqual([]);
    // A topic k3 already has is no new slot: the tool publishes there.
    const again = await publishApproved('q-1', 'same topic', K3);
    expect(again.events.some((event) => event.type === 'tool-result')).toBe(true);
  });
});
