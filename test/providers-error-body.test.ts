/**
 * Error bodies from a provider are read up to a bound (64 KiB), then the rest is cancelled: a huge
 * or endless error body neither fills memory nor holds the request open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAIProvider, isProviderError } from '../src/providers/index.ts';
import type { Provider } from '../src/providers/index.ts';
import { createReplayServer } from '../src/providers/replay/index.ts';
import type { ReplayServer } from '../src/providers/replay/index.ts';
import { MAX_ERROR_BODY_BYTES } from '../src/providers/shared/capture-fetch.ts';
import { collect, within } from './providers-helpers.ts';

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Hello' }] };
const MiB = 1024 * 1024;

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A JSON-looking error document padded to `size` bytes. */
function hugeBody(size: number): string {
  const head = '{"error":{"type":"server_error","message":"';
  return head + 'x'.repeat(size - head.length - 4) + '"}}\n';
}

async function failure(provider: Provider): Promise<unknown> {
  return within(
    collect(provider(REQUEST)).then(
      () => expect.unreachable('the stream should have thrown'),
      (error: unknown) => error,
    ),
    10_000,
    'the provider kept reading the error body',
  );
}

const PROVIDERS: [string, string, (url: string) => Provider][] = [
  ['openai', 'POST /v1/chat/completions', (url) => createOpenAIProvider({ apiKey: 'k', baseURL: `${url}/v1`, maxRetries: 0 })],
  ['anthropic', 'POST /v1/messages', (url) => createAnthropicProvider({ apiKey: 'k', baseURL: url, maxRetries: 0 })],
];

describe('error bodies are read up to a bound', () => {
  it.each(PROVIDERS)('%s: a 16 MiB error body is kept to its first 64 KiB, and the rest is not read (the connection is closed)', async (_name, route, create) => {
    server = await createReplayServer({ routes: { [route]: { status: 500, body: hugeBody(16 * MiB) } } });
    const error = await failure(create(server.url));
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'provider_server_error', statusCode: 500 });
    const { responseBody } = error as { responseBody: string };
    expect(new TextEncoder().encode(responseBody).byteLength).toBe(MAX_ERROR_BODY_BYTES);
    expect(responseBody.startsWith('{"error":{"type":"server_error","message":"xxx')).toBe(true);
    // The message repeats a bounded part of the upstream text; the body keeps the rest.
    expect((error as Error).message.length).toBeLessThan(1_200);
    // The server could not finish writing: the client cancelled the body and closed the connection.
    await within(server.requests[0]!.closed, 5_000, 'the upstream connection stayed open');
    expect(server.requests[0]!.aborted).toBe(true);
  });

  it.each(PROVIDERS)('%s: an endless error body (the server keeps the response open) ends in a ProviderError, not a hang', async (_name, route, create) => {
    server = await createReplayServer({ routes: { [route]: { status: 503, body: hugeBody(MiB), stallAfterBytes: 256 * 1024 } } });
    const error = await failure(create(server.url));
    expect(error).toMatchObject({ code: 'provider_server_error', statusCode: 503 });
    expect((error as { responseBody: string }).responseBody).toHaveLength(MAX_ERROR_BODY_BYTES);
    await within(server.requests[0]!.closed, 5_000, 'the upstream connection stayed open');
    expect(server.requests[0]!.aborted).toBe(true);
  });

  it('a small error body is still kept verbatim', async () => {
    const body = JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } });
    server = await createReplayServer({ routes: { 'POST /v1/chat/completions': { status: 429, body } } });
    const error = await failure(createOpenAIProvider({ apiKey: 'k', baseURL: `${server.url}/v1`, maxRetries: 0 }));
    expect(error).toMatchObject({ code: 'provider_rate_limited', responseBody: body });
  });
});
