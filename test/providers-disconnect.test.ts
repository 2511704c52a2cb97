/**
 * A downstream disconnect (an aborted signal, or `return()` / `break` on the iterator) closes the
 * upstream connection at once, for every provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAICompatibleProvider, createOpenAIProvider } from '../src/providers/index.ts';
import type { Provider } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayServer } from '../src/providers/replay/index.ts';
import { FIXTURES, within } from './providers-helpers.ts';

/** How long the upstream connection may stay open after the downstream client left. */
const CLOSE_BUDGET_MS = 200;
/** The drip: slow enough that the stream is surely still running when the client leaves. */
const DRIP_MS = 100;

let server: ReplayServer;

beforeAll(async () => {
  const drip = async (folder: string, file: string) => ({
    ...(await readReplayFixture(new URL(`${folder}/`, FIXTURES), file)),
    chunkDelayMs: DRIP_MS,
  });
  server = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': await drip('openai-chat', 'text-basic.sse'),
      'POST /v1/responses': await drip('openai-responses', 'text.sse'),
      'POST /v1/messages': await drip('anthropic-messages', 'text.sse'),
    },
  });
});
afterAll(async () => {
  await server.close();
});

const PROVIDERS: [string, () => Provider][] = [
  ['openai (chat)', () => createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1` })],
  ['openai (responses)', () => createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1`, api: 'responses' })],
  ['anthropic', () => createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url })],
  ['openai-compatible', () => createOpenAICompatibleProvider({ baseURL: `${server.url}/v1` })],
];

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Hello' }] };

/** Reads until the first text delta: the answer is streaming and the upstream request is open. */
async function readUntilText(iterator: AsyncIterator<{ type: string }>): Promise<void> {
  for (;;) {
    const result = await within(iterator.next(), 5000, 'no text delta arrived');
    if (result.done) throw new Error('the stream ended before any text');
    if (result.value.type === 'text-delta') return;
  }
}

describe.each(PROVIDERS)('%s', (_name, create) => {
  it(`aborting the signal mid-stream closes the upstream connection within ${CLOSE_BUDGET_MS} ms`, async () => {
    const controller = new AbortController();
    const iterator = create()(REQUEST, { signal: controller.signal })[Symbol.asyncIterator]();
    const before = server.requests.length;
    await readUntilText(iterator);
    const upstream = server.requests[before];
    expect(upstream?.closedAt).toBeUndefined();
    const pending = iterator.next();
    const abortedAt = performance.now();
    controller.abort(new DOMException('client went away', 'AbortError'));
    // The pending read rejects with the abort reason, unchanged.
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', message: 'client went away' });
    await within(upstream!.closed, 2000, 'the upstream connection was never closed');
    expect(upstream!.aborted).toBe(true);
    expect(upstream!.closedAt! - abortedAt).toBeLessThan(CLOSE_BUDGET_MS);
  });

  it(`return() (a for-await break) mid-stream closes the upstream connection within ${CLOSE_BUDGET_MS} ms`, async () => {
    const before = server.requests.length;
    let returnedAt = 0;
    for await (const event of create()(REQUEST)) {
      if (event.type === 'text-delta') {
        returnedAt = performance.now();
        break;
      }
    }
    const upstream = server.requests[before];
    await within(upstream!.closed, 2000, 'the upstream connection was never closed');
    expect(upstream!.aborted).toBe(true);
    expect(upstream!.closedAt! - returnedAt).toBeLessThan(CLOSE_BUDGET_MS);
  });

  it(`return() while a read is pending closes the upstream connection within ${CLOSE_BUDGET_MS} ms`, async () => {
    const iterator = create()(REQUEST)[Symbol.asyncIterator]();
    const before = server.requests.length;
    await readUntilText(iterator);
    const upstream = server.requests[before];
    const pending = iterator.next();
    const returnedAt = performance.now();
    await within(iterator.return!(), 2000, 'return() did not settle');
    await within(upstream!.closed, 2000, 'the upstream connection was never closed');
    expect(upstream!.aborted).toBe(true);
    expect(upstream!.closedAt! - returnedAt).toBeLessThan(CLOSE_BUDGET_MS);
    // The read that was pending ends the stream; it never yields an error for a stream we stopped.
    await expect(pending).resolves.toMatchObject({ done: true });
  });
});

describe('stopping between retries', () => {
  it('return() during the wait before a retry ends the stream at once, without another request', async () => {
    const rateLimited = await readReplayFixture(new URL('openai-chat/', FIXTURES), 'error-429-rate-limit.json');
    const slow = await createReplayServer({
      routes: { 'POST /v1/chat/completions': { ...rateLimited, headers: { ...rateLimited.headers, 'retry-after': '30' } } },
    });
    try {
      const iterator = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${slow.url}/v1` })(REQUEST)[Symbol.asyncIterator]();
      const pending = iterator.next();
      await slow.waitForRequests(1);
      await within(slow.requests[0]!.closed, 2000, 'the 429 response never completed');
      await within(iterator.return!(), 1000, 'return() waited for the 30 s Retry-After');
      await expect(within(pending, 1000, 'the pending read never settled')).resolves.toMatchObject({ done: true });
      expect(slow.requests).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('aborting the signal during the wait before a retry rejects with the abort reason', async () => {
    const rateLimited = await readReplayFixture(new URL('openai-chat/', FIXTURES), 'error-429-rate-limit.json');
    const slow = await createReplayServer({
      routes: { 'POST /v1/chat/completions': { ...rateLimited, headers: { ...rateLimited.headers, 'retry-after': '30' } } },
    });
    try {
      const controller = new AbortController();
      const stream = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${slow.url}/v1` })(REQUEST, { signal: controller.signal });
      const pending = stream[Symbol.asyncIterator]().next();
      await slow.waitForRequests(1);
      await within(slow.requests[0]!.closed, 2000, 'the 429 response never completed');
      controller.abort(new DOMException('stop', 'AbortError'));
      await expect(within(pending, 1000, 'the pending read never settled')).rejects.toMatchObject({ name: 'AbortError', message: 'stop' });
      expect(slow.requests).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });
});
