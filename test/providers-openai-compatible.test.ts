/**
 * `openai-compatible:` configuration (DESIGN.md): `OPENAI_COMPATIBLE_BASE_URL` with
 * `OPENAI_COMPATIBLE_API_KEY` (optional); when that URL is unset, `OPENAI_BASE_URL` with
 * `OPENAI_API_KEY`; `OPENAI_API_KEY` never goes to a base URL of its own. Checked by the
 * `Authorization` header a replay server receives.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderConfigError, createOpenAICompatibleProvider } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayServer } from '../src/providers/replay/index.ts';
import { FIXTURES, collect, normalize, readMeta } from './providers-helpers.ts';

const REQUEST = { model: 'qwen3:8b', messages: [{ role: 'user' as const, content: 'Hello' }] };
const OPENAI_KEY = 'sk-openai-secret-key';
const servers: ReplayServer[] = [];

async function replay(): Promise<ReplayServer> {
  const server = await createReplayServer({
    routes: { 'POST /v1/chat/completions': await readReplayFixture(new URL('openai-chat/', FIXTURES), 'text-basic.sse') },
  });
  servers.push(server);
  return server;
}

const expectedText = readMeta('openai-chat').find((entry) => entry.file === 'text-basic.sse')!.expected.text;

beforeEach(() => {
  // Start from a clean slate whatever the machine's environment holds.
  for (const name of ['OPENAI_COMPATIBLE_BASE_URL', 'OPENAI_COMPATIBLE_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_API_KEY']) vi.stubEnv(name, '');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('openai-compatible: its own base URL', () => {
  it('OPENAI_COMPATIBLE_BASE_URL is used, and OPENAI_API_KEY is not sent to it (no Authorization header without a key of its own)', async () => {
    const own = await replay();
    const openai = await replay();
    vi.stubEnv('OPENAI_COMPATIBLE_BASE_URL', `${own.url}/v1`);
    vi.stubEnv('OPENAI_BASE_URL', `${openai.url}/v1`);
    vi.stubEnv('OPENAI_API_KEY', OPENAI_KEY);
    const result = normalize(await collect(createOpenAICompatibleProvider()(REQUEST)));
    expect(result.text).toBe(expectedText);
    expect(own.requests).toHaveLength(1);
    expect(openai.requests).toHaveLength(0);
    expect(own.requests[0]?.headers['authorization']).toBeUndefined();
    expect(JSON.stringify(own.requests[0]?.headers)).not.toContain(OPENAI_KEY);
  });

  it('OPENAI_COMPATIBLE_API_KEY is sent as the Bearer token to OPENAI_COMPATIBLE_BASE_URL', async () => {
    const own = await replay();
    vi.stubEnv('OPENAI_COMPATIBLE_BASE_URL', `${own.url}/v1/`);
    vi.stubEnv('OPENAI_COMPATIBLE_API_KEY', 'compat-key');
    vi.stubEnv('OPENAI_API_KEY', OPENAI_KEY);
    await collect(createOpenAICompatibleProvider()(REQUEST));
    expect(own.requests[0]?.path).toBe('/v1/chat/completions');
    expect(own.requests[0]?.headers['authorization']).toBe('Bearer compat-key');
  });

  it('a `baseURL` option is a base URL of its own too: OPENAI_API_KEY is not sent to it', async () => {
    const own = await replay();
    vi.stubEnv('OPENAI_API_KEY', OPENAI_KEY);
    await collect(createOpenAICompatibleProvider({ baseURL: `${own.url}/v1` })(REQUEST));
    expect(own.requests[0]?.headers['authorization']).toBeUndefined();
  });

  it('a `baseURL` option with OPENAI_COMPATIBLE_API_KEY sends that key; an `apiKey` option wins over it', async () => {
    const own = await replay();
    vi.stubEnv('OPENAI_COMPATIBLE_API_KEY', 'compat-key');
    await collect(createOpenAICompatibleProvider({ baseURL: `${own.url}/v1` })(REQUEST));
    await collect(createOpenAICompatibleProvider({ baseURL: `${own.url}/v1`, apiKey: 'option-key' })(REQUEST));
    expect(own.requests.map((request) => request.headers['authorization'])).toEqual(['Bearer compat-key', 'Bearer option-key']);
  });

  it('a rejected key names OPENAI_COMPATIBLE_API_KEY, the variable to fix', async () => {
    const body = JSON.stringify({ error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } });
    const own = await createReplayServer({ routes: { 'POST /v1/chat/completions': { status: 401, body } } });
    servers.push(own);
    vi.stubEnv('OPENAI_COMPATIBLE_BASE_URL', `${own.url}/v1`);
    vi.stubEnv('OPENAI_COMPATIBLE_API_KEY', 'wrong');
    const error = await collect(createOpenAICompatibleProvider()(REQUEST)).then(
      () => expect.unreachable('the stream should have thrown'),
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'provider_auth_failed' });
    expect((error as Error).message).toContain('OPENAI_COMPATIBLE_API_KEY');
  });
});

describe('openai-compatible: the fallback to OPENAI_BASE_URL', () => {
  it('without OPENAI_COMPATIBLE_BASE_URL it calls OPENAI_BASE_URL with OPENAI_API_KEY', async () => {
    const openai = await replay();
    vi.stubEnv('OPENAI_BASE_URL', `${openai.url}/v1`);
    vi.stubEnv('OPENAI_API_KEY', OPENAI_KEY);
    const result = normalize(await collect(createOpenAICompatibleProvider()(REQUEST)));
    expect(result.text).toBe(expectedText);
    expect(openai.requests[0]?.headers['authorization']).toBe(`Bearer ${OPENAI_KEY}`);
  });

  it('without any base URL it throws a configuration error naming OPENAI_COMPATIBLE_BASE_URL, before sending anything', async () => {
    vi.stubEnv('OPENAI_API_KEY', OPENAI_KEY);
    const iterator = createOpenAICompatibleProvider()(REQUEST)[Symbol.asyncIterator]();
    const error = await iterator.next().then(
      () => expect.unreachable('next() should have thrown'),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ProviderConfigError);
    expect(error).toMatchObject({ code: 'provider_base_url_missing', status: 500, variable: 'OPENAI_COMPATIBLE_BASE_URL' });
    expect((error as Error).message).toMatch(/^OPENAI_COMPATIBLE_BASE_URL is not set: /);
  });
});
