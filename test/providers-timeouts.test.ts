/**
 * The time-to-first-token timeout throws before any event; the idle timeout ends a started stream
 * with an `error` event; both close the upstream connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAIProvider, isProviderError } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayResponse, ReplayServer } from '../src/providers/replay/index.ts';
import { FIXTURES, collect, normalize, within } from './providers-helpers.ts';

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Hello' }] };
const fixture = (folder: string, file: string): Promise<ReplayResponse> => readReplayFixture(new URL(`${folder}/`, FIXTURES), file);

/** The byte offset just after the `count`-th SSE event of `body`. */
function afterEvents(body: string | Uint8Array, count: number): number {
  const bytes = Buffer.from(body);
  let offset = 0;
  for (let i = 0; i < count; i++) offset = bytes.indexOf('\n\n', offset) + 2;
  return offset;
}

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('time to first token', () => {
  it('no bytes after the headers: thrown provider_first_token_timeout (504) after firstTokenTimeoutMs, upstream closed', async () => {
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': { ...(await fixture('openai-chat', 'text-basic.sse')), stallAfterBytes: 0 } } });
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1`, firstTokenTimeoutMs: 150 });
    const startedAt = performance.now();
    const error = await collect(openai(REQUEST)).then(
      () => expect.unreachable('the stream should have thrown'),
      (caught: unknown) => caught,
    );
    const elapsed = performance.now() - startedAt;
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'provider_first_token_timeout', status: 504, isRetryable: true });
    expect((error as Error).message).toContain('150 ms');
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(1000);
    // Timeouts are not retried: one request, and its connection was closed.
    expect(server.requests).toHaveLength(1);
    await within(server.requests[0]!.closed, 1000, 'the upstream connection stayed open');
    expect(server.requests[0]!.aborted).toBe(true);
  });

  it('no headers at all: the same timeout covers the wait for the response', async () => {
    server = await createReplayServer({ routes: { 'POST /v1/messages': { ...(await fixture('anthropic-messages', 'text.sse')), headersDelayMs: 10_000 } } });
    const anthropic = createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url, firstTokenTimeoutMs: 150 });
    await expect(collect(anthropic(REQUEST))).rejects.toMatchObject({ code: 'provider_first_token_timeout', status: 504 });
    await within(server.requests[0]!.closed, 1000, 'the upstream connection stayed open');
  });

  it('message_start and ping are not a first token: a stall after them still times out before any event', async () => {
    const text = await fixture('anthropic-messages', 'text.sse');
    // message_start, content_block_start, ping: no text yet.
    server = await createReplayServer({ routes: { 'POST /v1/messages': { ...text, stallAfterBytes: afterEvents(text.body, 3) } } });
    const anthropic = createAnthropicProvider({ apiKey: 'test-key', baseURL: server.url, firstTokenTimeoutMs: 150, idleTimeoutMs: 5000 });
    await expect(collect(anthropic(REQUEST))).rejects.toMatchObject({ code: 'provider_first_token_timeout' });
  });
});

describe('idle timeout', () => {
  it.each([
    ['openai (chat)', 'openai-chat', 'text-basic.sse'],
    ['openai (responses)', 'openai-responses', 'text.sse'],
    ['anthropic', 'anthropic-messages', 'text.sse'],
  ] as const)('%s: a stall mid-answer ends with an error event provider_idle_timeout, upstream closed', async (_name, folder, file) => {
    const response = await fixture(folder, file);
    const stallAfterBytes = afterEvents(response.body, 6);
    const path = folder === 'openai-chat' ? '/v1/chat/completions' : folder === 'openai-responses' ? '/v1/responses' : '/v1/messages';
    server = await createReplayServer({ routes: { [`POST ${path}`]: { ...response, stallAfterBytes } } });
    const options = { apiKey: 'test-key', idleTimeoutMs: 150 };
    const provider =
      folder === 'anthropic-messages'
        ? createAnthropicProvider({ ...options, baseURL: server.url })
        : createOpenAIProvider({ ...options, baseURL: `${server.url}/v1`, api: folder === 'openai-responses' ? 'responses' : 'chat' });
    const events = await collect(provider(REQUEST));
    const result = normalize(events);
    expect(result.text.length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'provider_idle_timeout', retryable: true });
    expect((events.at(-1) as { message: string }).message).toContain('150 ms');
    await within(server.requests[0]!.closed, 1000, 'the upstream connection stayed open');
    expect(server.requests[0]!.aborted).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('a slow but steady drip under idleTimeoutMs is not a timeout', async () => {
    server = await createReplayServer({
      routes: { 'POST /v1/chat/completions': { ...(await fixture('openai-chat', 'text-with-usage.sse')), chunkDelayMs: 20 } },
    });
    const openai = createOpenAIProvider({ apiKey: 'test-key', baseURL: `${server.url}/v1`, idleTimeoutMs: 200, firstTokenTimeoutMs: 1000 });
    const events = await collect(openai(REQUEST));
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });
});
