/**
 * The approval route on one instance (memory store): the stop button stops a run that waits for
 * approval; with API keys, another key's approval is 404 and the owner's is 202; a bad body is 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { agentEvents, readEvents } from './helpers/sse-events.ts';
import { publishQuestion, readUntil, typesOf } from './approval-helpers.ts';

let app: AppHandler;
let server: TestServer;
const OWNER = { authorization: 'Bearer key-one' };
const OTHER = { authorization: 'Bearer key-two' };

beforeAll(async () => {
  const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
  app = createApp({ env: {}, apiKeys: ['key-one', 'key-two'], models: createModelRegistry({ env: {}, providers: { local } }) });
  server = await startServer(app);
});

afterAll(async () => {
  await app.shutdown({ drainMs: 0 });
  await server.close();
});

function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function waitingRun(): Promise<{ id: string; approvalId: string; response: Response }> {
  const response = await post('/v1/chat', publishQuestion('mem-topic'), OWNER);
  const id = response.headers.get('x-stream-id')!;
  const head = await readUntil(response, (event) => event.type === 'approval-request');
  return { id, approvalId: (head.at(-1)!.data as { approvalId: string }).approvalId, response };
}

describe('the approval route', () => {
  it('another key gets 404, a bad body 400, the owner 202', async () => {
    const { id, approvalId } = await waitingRun();
    const path = `/v1/streams/${id}/approvals/${approvalId}`;
    expect((await post(path, { approved: true }, OTHER)).status).toBe(404);
    expect((await post(path, { approved: 'yes' }, OWNER)).status).toBe(400);
    expect((await post(path, { approved: true }, {})).status).toBe(401);
    expect((await post(path, { approved: true }, OWNER)).status).toBe(202);
    const { events } = await readEvents(await fetch(`${server.url}/v1/streams/${id}`, { headers: { ...OWNER, 'last-event-id': '0' } }));
    expect(typesOf(agentEvents(events), ['approval-request', 'approval-response', 'tool-result', 'finish'])).toEqual(['approval-request', 'approval-response', 'tool-result', 'finish']);
  });

  it('DELETE stops a run that waits for approval: the stream ends with abort and a late answer is 409', async () => {
    const { id, approvalId } = await waitingRun();
    expect((await fetch(`${server.url}/v1/streams/${id}`, { method: 'DELETE', headers: OWNER })).status).toBe(202);
    const { events } = await readEvents(await fetch(`${server.url}/v1/streams/${id}`, { headers: { ...OWNER, 'last-event-id': '0' } }));
    const all = agentEvents(events);
    expect(all.at(-1)).toMatchObject({ type: 'abort', data: { reason: 'stopped' } });
    expect(all.some((event) => event.type === 'tool-result')).toBe(false);
    // The stream is over; its approval can no longer change anything.
    expect((await post(`/v1/streams/${id}/approvals/${approvalId}`, { approved: true }, OWNER)).status).toBe(409);
  });
});
