import { afterEach, expect, it } from 'vitest';
import { createReplayServer } from './create-replay-server.ts';
import type { ReplayServer } from './create-replay-server.ts';

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

it('records each request and plays a list of responses in turn, repeating the last', async () => {
  server = await createReplayServer({
    routes: {
      'POST /a': [{ status: 503, body: '{"error":{}}', headers: { 'content-type': 'application/json', 'retry-after': '1' } }, { body: 'data: 1\n\n' }],
    },
  });
  const post = () => fetch(`${server!.url}/a?x=1`, { method: 'POST', body: '{"q":1}', headers: { 'x-test': 'yes' } });
  const first = await post();
  expect([first.status, first.headers.get('retry-after'), await first.text()]).toEqual([503, '1', '{"error":{}}']);
  for (const _ of [1, 2]) {
    const next = await post();
    expect([next.status, next.headers.get('content-type'), await next.text()]).toEqual([200, 'text/event-stream; charset=utf-8', 'data: 1\n\n']);
  }
  expect(server.requests.map((r) => [r.method, r.path, r.headers['x-test'], r.json])).toEqual(Array(3).fill(['POST', '/a?x=1', 'yes', { q: 1 }]));
  await server.requests[2]!.closed;
  expect(server.requests[2]!.aborted).toBe(false);
});

it('answers an unknown route with a JSON 404', async () => {
  server = await createReplayServer({ routes: {} });
  const response = await fetch(`${server.url}/nope`);
  expect(response.status).toBe(404);
  expect(await response.json()).toMatchObject({ error: { type: 'not_found' } });
});

it('drops the connection after dropAfterBytes, and records it as aborted', async () => {
  server = await createReplayServer({ routes: { '/s': { body: 'data: 1\n\ndata: 2\n\n', dropAfterBytes: 9 } } });
  const response = await fetch(`${server.url}/s`);
  const reader = response.body!.getReader();
  let received = '';
  const failure = await (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      received += new TextDecoder().decode(value);
    }
  })().catch((error: unknown) => error);
  expect(received).toBe('data: 1\n\n');
  expect(failure).toBeInstanceOf(TypeError);
  await server.requests[0]!.closed;
  expect(server.requests[0]!.aborted).toBe(true);
});

it("runs the README's replay-kit example on the recordings that ship with the package", async () => {
  const { BUNDLED_FIXTURES, readReplayFixture } = await import('./read-replay-fixture.ts');
  const { createOpenAIProvider } = await import('../openai/create-openai-provider.ts');
  const fixture = await readReplayFixture(new URL('openai-chat/', BUNDLED_FIXTURES), 'text-basic.sse');
  server = await createReplayServer({ routes: { 'POST /v1/chat/completions': { ...fixture, chunking: { seed: 42 }, chunkDelayMs: 1 } } });
  const openai = createOpenAIProvider({ apiKey: 'test', baseURL: `${server.url}/v1` });
  let text = '';
  let finish: string | undefined;
  for await (const event of openai({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })) {
    if (event.type === 'text-delta') text += event.delta;
    if (event.type === 'finish') finish = event.finishReason;
  }
  expect(text.length).toBeGreaterThan(10);
  expect(finish).toBe('stop');
});
