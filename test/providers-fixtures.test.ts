/**
 * Every provider fixture in fixtures/ (the repo's copy of the recordings) replayed through the replay server into the real
 * SDK and our provider gives exactly the result recorded in its meta.json, also when the body
 * arrives in random byte-sized pieces.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAICompatibleProvider, createOpenAIProvider, isProviderError } from '../src/providers/index.ts';
import type { Provider } from '../src/providers/index.ts';
import { createReplayServer, readReplayFixture } from '../src/providers/replay/index.ts';
import type { ReplayChunking, ReplayServer } from '../src/providers/replay/index.ts';
import { FIXTURES, collect, normalize, readMeta } from './providers-helpers.ts';
import type { FixtureEntry } from './providers-helpers.ts';

const SEEDS = [1, 7, 42, 1234];
const CHUNKINGS: [string, ReplayChunking][] = [
  ['one event per write', 'events'],
  ['the body in one write', 'whole'],
  ...SEEDS.map((seed): [string, ReplayChunking] => [`random splits, seed ${seed}`, { seed, maxBytes: 24 }]),
];

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Hello' }] };

interface Suite {
  folder: string;
  provider: (baseURL: string) => Provider;
  baseURL: (server: ReplayServer) => string;
}

const SUITES: Suite[] = [
  {
    folder: 'openai-chat',
    provider: (baseURL) => createOpenAIProvider({ apiKey: 'test-key', baseURL, maxRetries: 0 }),
    baseURL: (server) => `${server.url}/v1`,
  },
  {
    folder: 'openai-chat',
    provider: (baseURL) => createOpenAICompatibleProvider({ baseURL, maxRetries: 0 }),
    baseURL: (server) => `${server.url}/v1`,
  },
  {
    folder: 'openai-responses',
    provider: (baseURL) => createOpenAIProvider({ apiKey: 'test-key', baseURL, maxRetries: 0, api: 'responses' }),
    baseURL: (server) => `${server.url}/v1`,
  },
  {
    folder: 'anthropic-messages',
    provider: (baseURL) => createAnthropicProvider({ apiKey: 'test-key', baseURL, maxRetries: 0 }),
    baseURL: (server) => server.url,
  },
];

/** The fixture's route, playing `chunking` of the current test. */
async function serve(server: ReplayServer, folder: string, entry: FixtureEntry, chunking: ReplayChunking): Promise<void> {
  const response = await readReplayFixture(new URL(`${folder}/`, FIXTURES), entry.file);
  routes[`${entry.request.method} ${entry.request.path}`] = entry.kind === 'json' ? response : { ...response, chunking };
}

const routes: Record<string, Parameters<typeof createReplayServer>[0]['routes'][string]> = {};
let server: ReplayServer;

beforeAll(async () => {
  server = await createReplayServer({ routes });
});
afterAll(async () => {
  await server.close();
});

for (const [suiteIndex, suite] of SUITES.entries()) {
  const name = suiteIndex === 1 ? 'openai-compatible (openai-chat fixtures)' : suite.folder;
  describe(`${name} fixtures`, () => {
    for (const entry of readMeta(suite.folder)) {
      const { expected } = entry;
      if (entry.kind === 'json') {
        it(`${entry.file}: throws a ProviderError with the upstream status, body and codes before any event`, async () => {
          await serve(server, suite.folder, entry, 'whole');
          const before = server.requests.length;
          const error = await collect(suite.provider(suite.baseURL(server))(REQUEST)).then(
            () => expect.unreachable('the stream should have thrown'),
            (caught: unknown) => caught,
          );
          expect(isProviderError(error)).toBe(true);
          if (!isProviderError(error)) return;
          const file = readFileSync(new URL(`${suite.folder}/${entry.file}`, FIXTURES), 'utf8');
          expect(error.statusCode).toBe(expected.error?.httpStatus);
          expect(error.responseBody).toBe(file);
          expect(error.url).toBe(`${suite.baseURL(server)}${suite.folder === 'anthropic-messages' ? '/v1/messages' : '/chat/completions'}`);
          expect(error.providerType).toBe(expected.error?.type);
          expect(error.providerCode).toBe(expected.error?.code);
          expect(error.message).toContain(expected.error?.message);
          expect(error.isRetryable).toBe(true);
          expect(error.code).toBe(entry.status === 429 ? 'provider_rate_limited' : 'provider_overloaded');
          expect(error.status).toBe(entry.status === 429 ? 429 : 503);
          expect(server.requests.length - before).toBe(1);
        });
        continue;
      }
      for (const [label, chunking] of CHUNKINGS) {
        it(`${entry.file} (${label}) gives the recorded text, reasoning, tool calls, finish, usage and error`, async () => {
          await serve(server, suite.folder, entry, chunking);
          const before = server.requests.length;
          const stream = suite.provider(suite.baseURL(server))(REQUEST);
          const silentFailure = expected.error !== null && expected.text === '' && expected.toolCalls.length === 0;
          if (silentFailure) {
            // Failed before any output: nothing was emitted, so the error is thrown (the server answers a status).
            const error = await collect(stream).then(
              () => expect.unreachable('the stream should have thrown'),
              (caught: unknown) => caught,
            );
            expect(isProviderError(error)).toBe(true);
            if (!isProviderError(error)) return;
            expect(error.statusCode).toBe(200);
            expect(error.providerType).toBe(expected.error?.type);
            expect(error.providerCode).toBe(expected.error?.code);
            expect(error.message).toContain(expected.error?.message);
            expect(error.isRetryable).toBe(false);
            return;
          }
          const events = await collect(stream);
          const result = normalize(events);
          const sent = server.requests.at(-1);
          expect(server.requests.length - before).toBe(1);
          expect(sent?.path).toBe(entry.request.path);
          expect((sent?.json as { stream?: boolean }).stream).toBe(true);
          if (suite.folder === 'openai-chat') expect(sent?.json).toMatchObject({ stream_options: { include_usage: true } });
          if (suite.folder === 'anthropic-messages') expect(sent?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          expect(result.messageId).toMatch(/^(chatcmpl-|resp_|msg_)/);
          expect(result.text).toBe(expected.text);
          expect(result.reasoning).toBe(expected.reasoning);
          expect(result.refusal).toBe(expected.refusal ?? null);
          expect(result.signature).toBe(expected.signature ?? null);
          expect(result.toolCalls.map(({ id, name, arguments: input }) => ({ id, name, arguments: input }))).toEqual(
            expected.toolCalls.map(({ id, name, arguments: input }) => ({ id, name, arguments: input })),
          );
          for (const call of result.toolCalls) expect(JSON.parse(call.argumentText)).toEqual(call.arguments);
          expect(result.finishReasonUnified).toBe(expected.finishReasonUnified);
          expect(result.usage).toEqual(expected.usage);
          if (expected.error === null) {
            expect(result.error).toBeNull();
            expect(result.finishReason).toBe(expected.finishReason);
          } else {
            // An error event has no raw finish reason (Responses' "failed" status is implied by the error).
            expect(result.finishReason).toBeNull();
            expect(result.error).toMatchObject({
              type: 'error',
              status: expected.error.httpStatus,
              providerType: expected.error.type,
              providerCode: expected.error.code,
              retryable: true,
            });
            expect(result.error?.message).toContain(expected.error.message);
          }
        });
      }
    }
  });
}

describe('text deltas pass through as they arrive', () => {
  it.each([
    ['openai-chat', 'text-basic.sse', 24, 0],
    ['openai-responses', 'text.sse', 17, 2],
    ['anthropic-messages', 'text.sse', 11, 3],
  ] as const)('%s/%s: one text-delta per upstream delta (%i), never merged or held', async (folder, file, deltas, suite) => {
    const entry = readMeta(folder).find((candidate) => candidate.file === file)!;
    // Large random pieces: several deltas arrive in one read, and none may be merged.
    await serve(server, folder, entry, { seed: 3, maxBytes: 512, minBytes: 256 });
    const events = await collect(SUITES[suite]!.provider(SUITES[suite]!.baseURL(server))(REQUEST));
    const textDeltas = events.filter((event) => event.type === 'text-delta');
    expect(textDeltas).toHaveLength(deltas);
  });
});
