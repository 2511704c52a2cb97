/**
 * Long jobs: `POST /v1/jobs` answers `202 {"id"}` with a `location`, the job runs without anyone
 * following it, and `GET /v1/jobs/:id/events` follows it in native agent SSE (progress rising to
 * total, intermediate data, the result, finish), resumable with `Last-Event-ID`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBuiltinTools } from '../src/agent/tools/builtin-tools.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { agentEvents, readEvents, type ReceivedEvent } from './helpers/sse-events.ts';

let server: TestServer;
let authed: TestServer;

beforeAll(async () => {
  // A short pace: a job takes long enough to be followed mid-way, and no more.
  const tools = createBuiltinTools({ paceMs: 20 });
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
  server = await startServer(createApp({ tools, models, apiKeys: [], env: {} }));
  authed = await startServer(createApp({ tools, models, apiKeys: ['key-a', 'key-b'], env: {} }));
});

afterAll(async () => {
  await server.close();
  await authed.close();
});

async function createJob(base: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function startJob(body: unknown): Promise<string> {
  const response = await createJob(server.url, body);
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  expect(response.headers.get('location')).toBe(`/v1/jobs/${id}/events`);
  return id;
}

function follow(id: string, headers: Record<string, string> = {}, base = server.url): Promise<Response> {
  return fetch(`${base}/v1/jobs/${id}/events`, { headers });
}

/** Progress rises (never goes back), ends at total; then the result and finish. */
function expectCompleteJob(events: ReceivedEvent[]): void {
  events.forEach((event, index) => expect(event.id).toBe(index + 1));
  const progress = events.filter((event) => event.type === 'progress').map((event) => event.data as { done: number; total: number });
  expect(progress.length).toBeGreaterThan(1);
  for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
  expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
  expect(events.at(-1)!.type).toBe('finish');
  expect(events.at(-2)).toMatchObject({ type: 'data', data: { name: 'result' } });
  for (const event of events) expect(event.data).not.toHaveProperty('toolCallId');
}

describe('POST /v1/jobs and GET /v1/jobs/:id/events', () => {
  it('runs a report: progress rises to total, a data event per section, the report as result, finish', async () => {
    const id = await startJob({ kind: 'report', topic: 'backpressure', sections: 3 });
    const response = await follow(id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-stream-id')).toBe(id);
    const { events: raw, ended } = await readEvents(response);
    expect(ended).toBe(true);
    const events = agentEvents(raw);
    expectCompleteJob(events);
    const result = events.at(-2)!.data.value as { markdown: string; sections: unknown[] };
    expect(result.sections.length).toBeGreaterThan(0);
    expect(events.filter((event) => event.type === 'data' && event.data.name === 'report-section')).toHaveLength(result.sections.length);
    expect(events.at(-3)).toMatchObject({ type: 'progress', data: { done: result.sections.length, total: result.sections.length } });
    expect(result.markdown).toMatch(/^# Report: backpressure/);
  });

  it('runs an analysis: progress while it reads the CSV, intermediate data, statistics as result', async () => {
    const id = await startJob({ kind: 'analysis', question: 'which region sells most?' });
    const events = agentEvents((await readEvents(await follow(id))).events);
    expectCompleteJob(events);
    const result = events.at(-2)!.data.value as { rows: number };
    expect(result.rows).toBeGreaterThan(1000);
  });

  it('goes on with nobody following, and replays from the start after it ended', async () => {
    const id = await startJob({ kind: 'report', topic: 'resume', sections: 2 });
    // Nobody follows while it runs: it ends on its own (no detach grace for jobs).
    await vi.waitFor(async () => expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^sluice_active_streams 0$/m), { timeout: 10_000 });
    expectCompleteJob(agentEvents((await readEvents(await follow(id))).events));
  });

  it('resumes mid-job with Last-Event-ID: nothing lost, nothing duplicated', async () => {
    const id = await startJob({ kind: 'report', topic: 'backpressure', sections: 4 });
    const first = agentEvents((await readEvents(await follow(id), 3)).events);
    expect(first.map((event) => event.id)).toEqual([1, 2, 3]);
    const rest = agentEvents((await readEvents(await follow(id, { 'last-event-id': '3' }))).events);
    expect(rest[0]!.id).toBe(4);
    const all = [...first, ...rest];
    expectCompleteJob(all);
    // The same log as a reader from the start sees.
    const whole = agentEvents((await readEvents(await follow(id))).events);
    expect(all).toEqual(whole);
  });

  it('answers 409 ahead_of_log to a Last-Event-ID past the end of the job\'s log', async () => {
    const id = await startJob({ kind: 'report', topic: 'ids', sections: 1 });
    const whole = agentEvents((await readEvents(await follow(id))).events);
    const ahead = await follow(id, { 'last-event-id': String(whole.at(-1)!.id + 1) });
    expect(ahead.status).toBe(409);
    expect(((await ahead.json()) as { error: { code: string } }).error.code).toBe('ahead_of_log');
  });

  it('answers HEAD on the events with the stream head, without following', async () => {
    const id = await startJob({ kind: 'analysis' });
    const response = await fetch(`${server.url}/v1/jobs/${id}/events`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-stream-id')).toBe(id);
    expect(await response.text()).toBe('');
  });

  it('gives 404 for an unknown id, a chat stream id, and another key’s job', async () => {
    expect((await follow('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const chat = await fetch(`${server.url}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/plain' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    const chatId = chat.headers.get('x-stream-id')!;
    await chat.text();
    const notJob = await follow(chatId);
    expect(notJob.status).toBe(404);
    expect(await notJob.json()).toMatchObject({ error: { code: 'not_found' } });

    const created = await createJob(authed.url, { kind: 'analysis' }, { authorization: 'Bearer key-a' });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    expect((await follow(id, { authorization: 'Bearer key-b' }, authed.url)).status).toBe(404);
    expect((await follow(id, {}, authed.url)).status).toBe(401);
    const own = await follow(id, { authorization: 'Bearer key-a' }, authed.url);
    expect(own.status).toBe(200);
    expectCompleteJob(agentEvents((await readEvents(own)).events));
  });

  it('gives 400 with a clear message for an unknown kind, a missing topic, a bad dataset, or no JSON', async () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: 'poem' }, /`kind`.*"report".*"analysis"/],
      [{}, /`kind`.*"report".*"analysis"/],
      [{ kind: 'report' }, /`topic`/],
      [{ kind: 'report', topic: 'x', sections: 99 }, /`sections`/],
      [{ kind: 'analysis', dataset: 'nope' }, /`dataset`/],
      [[1, 2], /body/],
    ];
    for (const [body, message] of cases) {
      const response = await createJob(server.url, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const json = (await response.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe('invalid_request');
      expect(json.error.message).toMatch(message);
    }
    const notJson = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('ends a report on a topic the docs do not cover with an error event', async () => {
    const id = await startJob({ kind: 'report', topic: 'zzqqxx' });
    const events = agentEvents((await readEvents(await follow(id))).events);
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { code: 'job_failed' } });
  });
});
