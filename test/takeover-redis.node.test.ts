/**
 * Takeover across instances (docs/takeover.md): `sluice serve` processes on one private Redis. A
 * producer killed with SIGKILL mid-answer, or in the middle of a tool, or stopped with SIGTERM:
 * another instance takes the run over from the log and the follower gets the whole answer, ending
 * `finish`, with contiguous ids and one `step-start` marked `takeover`. Replayed provider streams
 * (OpenAI Chat, Anthropic): the request after the takeover carries the conversation so far in the
 * provider's own format. A request that kills every instance running it ends `producer_lost` after
 * `SLUICE_MAX_TAKEOVERS`. Slow and multi-process: in the sequential `timing` project.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { INTERRUPTED_MESSAGE } from '../src/agent/run-agent.ts';
import { createReplayServer, type ReplayServer } from '../src/providers/replay/create-replay-server.ts';
import { CONTINUE_PROMPT } from '../src/providers/shared/continuation.ts';
import { within } from './helpers/http.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { agentEvents, expectConsecutive, readEvents, textOf, type ReceivedEvent } from './helpers/sse-events.ts';

const available = requireRedisServer();
const CLI = fileURLToPath(new URL('../src/cli/sluice.ts', import.meta.url));
const TOOLS_SERVER = fileURLToPath(new URL('./takeover-server.ts', import.meta.url));
const PACE = { SLUICE_LOCAL_TTFT_MS: '10', SLUICE_LOCAL_TPS: '60' };
const QUESTION = { messages: [{ role: 'user', content: 'What is backpressure?' }] };
/** The lease of the tools server's instances (the CLI's default store has 10 s). */
const SHORT_LEASE = { TAKEOVER_LEASE_MS: '2000' };

interface Instance {
  url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

let redis: RedisServer;
let upstream: ReplayServer;
let b: Instance;
const started: Instance[] = [];
const providerEnv = (): Record<string, string> => ({
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: `${upstream.url}/v1`,
  ANTHROPIC_API_KEY: 'sk-ant-test',
  ANTHROPIC_BASE_URL: upstream.url,
});

/** Starts `sluice serve` (`cli`) or the test tools server on a free port, on the private Redis. */
async function instance(kind: 'cli' | 'tools', env: Record<string, string> = {}, on: RedisServer = redis): Promise<Instance> {
  const child: ChildProcess = spawn(process.execPath, kind === 'cli' ? [CLI, 'serve'] : [TOOLS_SERVER], {
    env: { ...process.env, SLUICE_MODEL: 'local', HOST: '127.0.0.1', PORT: '0', REDIS_URL: on.url, ...PACE, ...providerEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the instance did not start within 20 s:\n${output}`)), 20_000);
    const onData = (): void => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(() => reject(new Error(`the instance exited before listening:\n${output}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const made: Instance = {
    url,
    output: () => output,
    exited,
    kill: (signal) => child.kill(signal),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  started.push(made);
  await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 100 });
  return made;
}

function post(target: Instance, body: unknown): Promise<Response> {
  return fetch(`${target.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Follows stream `id` on `target` from the start; `events` fills as they arrive. */
function follow(target: Instance, id: string): { events: ReceivedEvent[]; done: Promise<boolean> } {
  const events: ReceivedEvent[] = [];
  const done = (async () => {
    const response = await fetch(`${target.url}/v1/streams/${id}`, { headers: { 'last-event-id': '0' } });
    const { createParser } = await import('../src/sse/parse.ts');
    const parser = createParser({ onEvent: (event) => events.push(...agentEvents([event])) });
    const reader = response.body!.getReader();
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) return true;
      parser.feed(value);
    }
  })();
  return { events, done };
}

const seams = (events: readonly ReceivedEvent[]): ReceivedEvent[] => events.filter((event) => event.type === 'step-start' && event.data.takeover === true);

/** Starts a run on `producer` and a follower of it on `b`; resolves once `ready` holds for the follower's events. */
async function startFollowed(producer: Instance, body: unknown, ready: (events: readonly ReceivedEvent[]) => boolean) {
  const first = await post(producer, body);
  expect(first.status).toBe(200);
  const id = first.headers.get('x-stream-id')!;
  // The first response is not read further: the follower on B is the client that stays.
  void first.body?.cancel().catch(() => undefined);
  const follower = follow(b, id);
  await vi.waitFor(() => expect(ready(follower.events)).toBe(true), { timeout: 20_000, interval: 20 });
  return { id, follower };
}

async function metric(target: Instance, outcome: string): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`)).text();
  const match = new RegExp(`^sluice_takeovers_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text);
  return Number(match?.[1] ?? NaN);
}

beforeAll(async () => {
  if (!available) return;
  redis = await startRedisServer();
  const openai = await readFile(new URL('../fixtures/openai-chat/text-basic.sse', import.meta.url), 'utf8');
  const anthropic = await readFile(new URL('../fixtures/anthropic-messages/text.sse', import.meta.url), 'utf8');
  // The first call of each provider stalls after a few text deltas (the producer is killed there);
  // the call after the takeover gets the whole recording.
  const stallAfter = (body: string, events: number): number => {
    let at = 0;
    for (let i = 0; i < events; i++) at = body.indexOf('\n\n', at) + 2;
    return Buffer.byteLength(body.slice(0, at));
  };
  upstream = await createReplayServer({
    routes: {
      'POST /v1/chat/completions': (_request, index) => (index === 0 ? { body: openai, stallAfterBytes: stallAfter(openai, 4) } : { body: openai }),
      'POST /v1/messages': (_request, index) => (index === 0 ? { body: anthropic, stallAfterBytes: stallAfter(anthropic, 7) } : { body: anthropic }),
    },
  });
  b = await instance('tools', SHORT_LEASE);
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((made) => made.stop()));
  await upstream?.close();
  await redis?.close();
});

describe.skipIf(!available)('another instance takes a run over from the log', () => {
  it('the producer killed with SIGKILL mid-answer (local model): the follower on B gets the whole answer, the same text, ids contiguous', async () => {
    const doomed = await instance('cli');
    // The uninterrupted run of the same request on the same configuration.
    const reference = agentEvents((await readEvents(await post(doomed, QUESTION))).events);
    expect(reference.at(-1)?.type).toBe('finish');
    const { follower } = await startFollowed(doomed, QUESTION, (events) => events.filter((event) => event.type === 'text-delta').length >= 5);
    doomed.kill('SIGKILL');
    await doomed.exited;
    const killedAt = performance.now();
    // The CLI's store has a 10 s lease: B takes over once it lapses.
    expect(await within(follower.done, 25_000, 'the follower on B did not end within 25 s of the kill')).toBe(true);
    console.log(`the answer finished on B ${Math.round(performance.now() - killedAt)} ms after SIGKILL (lease 10 s)`);
    const events = follower.events;
    expectConsecutive(events);
    expect(events.at(-1)).toMatchObject({ type: 'finish', data: { finishReason: 'stop' } });
    expect(seams(events)).toHaveLength(1);
    expect(textOf(events)).toBe(textOf(reference));
    expect(events.filter((event) => event.type === 'message-start')).toHaveLength(1);
    expect(await metric(b, 'resumed')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('killed in the middle of a tool: a tool that is not idempotent ends "interrupted" and the run finishes; an idempotent one runs again, its result once', async () => {
    // The test tools only: the run offers those, and B (which has the built-ins too) offers the same on takeover.
    const doomed = await instance('tools', { ...SHORT_LEASE, TAKEOVER_TOOLS: 'test' });
    const hasProgress = (events: readonly ReceivedEvent[]): boolean => events.some((event) => event.type === 'progress' && Number(event.data.done) >= 2);
    const [notice, count] = await Promise.all([
      startFollowed(doomed, { messages: [{ role: 'user', content: 'Use send_notice to tell Alice hello' }] }, hasProgress),
      startFollowed(doomed, { messages: [{ role: 'user', content: 'Use count_slowly to count the sheep' }] }, hasProgress),
    ]);
    doomed.kill('SIGKILL');
    await doomed.exited;
    await within(Promise.all([notice.follower.done, count.follower.done]), 20_000, 'the followers on B did not end within 20 s of the kill');

    const noticeEvents = notice.follower.events;
    expectConsecutive(noticeEvents);
    expect(noticeEvents.at(-1)?.type).toBe('finish');
    expect(seams(noticeEvents)).toHaveLength(1);
    expect(noticeEvents.filter((event) => event.type === 'tool-result')).toHaveLength(0);
    const errors = noticeEvents.filter((event) => event.type === 'tool-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.data).toMatchObject({ toolName: 'send_notice', message: INTERRUPTED_MESSAGE });
    // Not run again: no progress after the seam.
    const noticeSeam = noticeEvents.indexOf(seams(noticeEvents)[0]!);
    expect(noticeEvents.slice(noticeSeam).some((event) => event.type === 'progress')).toBe(false);

    const countEvents = count.follower.events;
    expectConsecutive(countEvents);
    expect(countEvents.at(-1)?.type).toBe('finish');
    expect(seams(countEvents)).toHaveLength(1);
    const results = countEvents.filter((event) => event.type === 'tool-result');
    expect(results).toHaveLength(1);
    expect(results[0]!.data).toMatchObject({ toolName: 'count_slowly', output: { counted: 10 } });
    expect(countEvents.filter((event) => event.type === 'tool-error')).toHaveLength(0);
    const countSeam = countEvents.indexOf(seams(countEvents)[0]!);
    expect(countEvents.slice(countSeam).filter((event) => event.type === 'progress').map((event) => event.data.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  }, 60_000);

  it('SIGTERM on the producer during a long report: the follower gets the complete report ending finish; the old instance exits within its drain time', async () => {
    const drainMs = 10_000;
    const reportQuestion = { messages: [{ role: 'user', content: 'Write a report on backpressure' }] };
    const leaving = await instance('cli', { SLUICE_DRAIN_MS: String(drainMs) });
    const reference = agentEvents((await readEvents(await post(leaving, reportQuestion))).events);
    expect(reference.at(-1)?.type).toBe('finish');
    const { follower } = await startFollowed(leaving, reportQuestion, (events) => events.some((event) => event.type === 'progress'));
    const termAt = performance.now();
    leaving.kill('SIGTERM');
    expect(await within(leaving.exited, drainMs, `the instance did not exit within its drain time (${drainMs} ms)`)).toEqual({ code: 0, signal: null });
    console.log(`the draining instance exited ${Math.round(performance.now() - termAt)} ms after SIGTERM (drain ${drainMs} ms)`);
    expect(await within(follower.done, 20_000, 'the follower on B did not end')).toBe(true);
    const events = follower.events;
    expectConsecutive(events);
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
    expect(seams(events)).toHaveLength(1);
    const results = events.filter((event) => event.type === 'tool-result');
    expect(results).toHaveLength(1);
    expect(results[0]!.data.output).toEqual(reference.find((event) => event.type === 'tool-result')!.data.output);
    expect(textOf(events)).toBe(textOf(reference));
    expect(await metric(b, 'resumed')).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it.each([
    ['openai:gpt-4o-mini', '/v1/chat/completions'],
    ['anthropic:claude-haiku-4-5', '/v1/messages'],
  ])('a replayed provider stream (%s): the request after the takeover carries the conversation so far, and the stream finishes', async (model, path) => {
    const before = upstream.requests.filter((request) => request.path.startsWith(path)).length;
    const doomed = await instance('cli');
    const question = 'Write a short poem';
    const { follower } = await startFollowed(doomed, { model, messages: [{ role: 'user', content: question }] }, (events) =>
      events.filter((event) => event.type === 'text-delta').length >= 2,
    );
    // Everything the stalled first call sent has reached the log.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const partial = textOf(follower.events);
    doomed.kill('SIGKILL');
    await doomed.exited;
    expect(await within(follower.done, 25_000, 'the follower on B did not end')).toBe(true);
    const events = follower.events;
    expectConsecutive(events);
    expect(events.at(-1)?.type).toBe('finish');
    expect(seams(events)).toHaveLength(1);
    const calls = upstream.requests.filter((request) => request.path.startsWith(path)).slice(before);
    expect(calls).toHaveLength(2);
    const second = calls[1]!.json as { messages: unknown[] };
    if (path === '/v1/messages') {
      // Anthropic: the partial text is the prefill (the API refuses trailing white space).
      expect(second.messages).toEqual([
        { role: 'user', content: expect.anything() },
        { role: 'assistant', content: [{ type: 'text', text: partial.trimEnd() }] },
      ]);
      expect(JSON.stringify(second.messages[0])).toContain(question);
    } else {
      // OpenAI Chat: the partial text given back as the assistant's, then asked to continue.
      expect(second.messages.slice(-3)).toEqual([
        { role: 'user', content: question },
        { role: 'assistant', content: partial },
        { role: 'user', content: CONTINUE_PROMPT },
      ]);
    }
    expect(partial.length).toBeGreaterThan(0);
  }, 60_000);

  it('a request that kills every instance running it ends with producer_lost after SLUICE_MAX_TAKEOVERS (2) takeovers', async () => {
    // A Redis of its own: every instance on it dies, and a last one reads the stream afterwards.
    const own = await startRedisServer();
    try {
      const env = { ...SHORT_LEASE, TAKEOVER_TOOLS: 'test' };
      const doomed = await Promise.all([instance('tools', env, own), instance('tools', env, own), instance('tools', env, own)]);
      const first = await post(doomed[0]!, { messages: [{ role: 'user', content: 'Use crash_server on Alice' }] });
      expect(first.status).toBe(200);
      const id = first.headers.get('x-stream-id')!;
      void first.body?.cancel().catch(() => undefined);
      // The producer, then each of the two takeovers, dies running the tool again.
      await within(Promise.all(doomed.map((made) => made.exited)), 30_000, 'the three instances did not all die');
      const last = await instance('tools', env, own);
      const events = agentEvents((await readEvents(await fetch(`${last.url}/v1/streams/${id}`, { headers: { 'last-event-id': '0' } }))).events);
      expectConsecutive(events);
      expect(events.filter((event) => event.type === 'tool-call').map((event) => event.data.toolName)).toEqual(['crash_server']);
      expect(seams(events)).toHaveLength(2);
      expect(events.at(-1)).toMatchObject({ type: 'error', data: { code: 'producer_lost' } });
      // Counted when the TAKEOVER script's reply is handled, which may come a moment after the
      // shared reader has handed the follower the producer_lost it appended.
      await vi.waitFor(async () => expect(await metric(last, 'exhausted')).toBe(1), { timeout: 5000, interval: 50 });
    } finally {
      await Promise.all(started.map((made) => made.stop()));
      await own.close();
    }
  }, 60_000);
});
