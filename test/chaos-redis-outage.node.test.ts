/**
 * The Redis outage contract (docs/redis-outage.md) on a real `sluice serve` and a private
 * redis-server that is killed, restarted with and without its data, and paused: new requests get
 * `503 store_unavailable` with `Retry-After`; new chats work again within 5 s of Redis coming back;
 * a running stream rides out a short outage with its data kept, and ends with a clear error code
 * when the data is gone (its resume then gets 404). Timing-sensitive: in the `timing` project.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChaosRedis, type ChaosRedis } from '../scripts/chaos/redis.ts';
import { startAppInstance, type AppInstance } from './helpers/app-instance.ts';
import { requireRedisServer } from './helpers/redis-server.ts';
import { agentEvents, expectConsecutive, readEvents, type ReceivedEvent } from './helpers/sse-events.ts';

const available = requireRedisServer();
/** A slow answer (about 10 s of tokens), so faults land mid-stream. */
const SLOW = { SLUICE_LOCAL_TTFT_MS: '20', SLUICE_LOCAL_TPS: '15' };
const QUESTION = { messages: [{ role: 'user', content: 'What is backpressure?' }] };

let dir: string;
let redis: ChaosRedis;
let app: AppInstance;

function chat(body: unknown = QUESTION): Promise<Response> {
  return fetch(`${app.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Reads an SSE body to its end, with the ids as sent (undefined for a frame without `id:`). */
async function readAll(response: Response): Promise<{ id: number | undefined; type: string; data: Record<string, unknown> }[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => /^data:/m.test(block))
    .map((block) => {
      const id = /^id: ?(\d+)$/m.exec(block)?.[1];
      const type = /^event: ?(.+)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(
        block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n'),
      ) as Record<string, unknown>;
      return { id: id === undefined ? undefined : Number(id), type, data };
    });
}

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'sluice-outage-'));
  redis = await startChaosRedis(dir);
  app = await startAppInstance({ REDIS_URL: redis.url, ...SLOW });
  await vi.waitFor(async () => expect((await fetch(`${app.url}/readyz`)).status).toBe(200), { timeout: 10_000 });
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await redis?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available)('a Redis outage (sluice serve on a private redis-server)', () => {
  it('answers a new chat with 503 store_unavailable and Retry-After while Redis is down, and within 5 s of its return serves chats again', async () => {
    await redis.kill();
    const refused = await chat();
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    // A resume is refused the same way (the store cannot say whether the stream exists).
    const resume = await fetch(`${app.url}/v1/streams/00000000-0000-4000-8000-000000000000`);
    expect(resume.status).toBe(503);
    expect(resume.headers.get('retry-after')).not.toBeNull();
    expect(((await resume.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    // Down for 3 s (the reconnect backoff grows meanwhile), then back empty.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await redis.start({ empty: true });
    const back = Date.now();
    let served: number | undefined;
    while (Date.now() - back < 10_000) {
      // Served: 200 and the answer's first event (the answer itself is slow on purpose).
      const response = await chat();
      const first = response.status === 200 ? (await readEvents(response, 1)).events[0] : (await response.body?.cancel(), undefined);
      if (first !== undefined && first.event !== 'error') {
        served = Date.now() - back;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(served, 'a new chat finished after Redis came back').toBeDefined();
    expect(served).toBeLessThan(5000);
  }, 30_000);

  it('ends a running stream with an error code when Redis comes back empty, and its resume then gets 404', async () => {
    const response = await chat();
    const id = response.headers.get('x-stream-id')!;
    const body = readAll(response);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.restartEmpty();
    const events = await body;
    const last = events.at(-1)!;
    // Never a silent end: the last frame is an error that names what happened.
    expect(last.type).toBe('error');
    expect(['not_found', 'unavailable']).toContain(last.data.code);
    // It is this response's own event, not the log's (there is no log any more): DESIGN says it carries no id.
    expect(last.id).toBeUndefined();
    const ids = events.flatMap((event) => (event.id === undefined ? [] : [event.id]));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    const resume = await fetch(`${app.url}/v1/streams/${id}`, { headers: { 'last-event-id': String(ids.at(-1) ?? 0) } });
    expect(resume.status).toBe(404);
    expect(((await resume.json()) as { error: { code: string } }).error.code).toBe('not_found');
  }, 30_000);

  it('carries a running stream through a Redis restart with its data and a 3 s pause: every event once, in order, to finish', async () => {
    const response = await chat();
    expect(response.status).toBe(200);
    const body = readEvents(response);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await redis.restartWithData();
    await new Promise((resolve) => setTimeout(resolve, 800));
    redis.pause();
    // Meanwhile a new chat is refused in bounded time (commands time out), not left hanging.
    const startedAt = Date.now();
    const refused = await chat();
    const waited = Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3000 - waited)));
    redis.resume();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect(waited).toBeLessThan(3000);
    const { events, ended } = await body;
    expect(ended).toBe(true);
    const received: ReceivedEvent[] = agentEvents(events);
    expectConsecutive(received);
    expect(received.at(-1)?.type).toBe('finish');
  }, 40_000);
});

describe.skipIf(!available)('sluice serve with REDIS_URL on a port in use', () => {
  it('exits with 1 instead of staying up with its Redis connections open', async () => {
    const cli = fileURLToPath(new URL('../src/cli/sluice.ts', import.meta.url));
    const port = new URL(app.url).port;
    const child = spawn(process.execPath, [cli, 'serve'], { env: { ...process.env, SLUICE_MODEL: 'local', HOST: '127.0.0.1', PORT: port, REDIS_URL: redis.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(output).toContain('EADDRINUSE');
    expect(code).toBe(1);
  }, 15_000);
});
