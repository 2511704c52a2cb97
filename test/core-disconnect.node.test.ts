/**
 * Must-show 3 of the streaming core: 1,000 client disconnects in a row mid-stream. Every
 * producer's `finally` runs and its signal is aborted within 100 ms of the disconnect; afterwards
 * open handles, abort listeners and memory are back at their baseline.
 */
import { getEventListeners } from 'node:events';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { sleep } from '../src/core/sleep.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import { sse } from '../src/sse/sse-format.ts';
import { startServer, type TestServer } from './helpers/http.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Record {
  abortedAt: number;
  finallyAt: number;
}

const records: Record[] = [];
// Weak references to each stream's response and signal: after the run, all must be collectable.
const refs: WeakRef<object>[] = [];
const external = new AbortController();
let server: TestServer;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const record: Record = { abortedAt: Number.NaN, finallyAt: Number.NaN };
    records.push(record);
    refs.push(new WeakRef(res));
    const source = async function* (signal: AbortSignal) {
      refs.push(new WeakRef(signal));
      signal.addEventListener('abort', () => (record.abortedAt = performance.now()), { once: true });
      try {
        for (let i = 0; ; i++) {
          yield { data: `tick ${i}` };
          // A producer waiting on something slow, like a model between tokens.
          await sleep(1000, signal);
        }
      } finally {
        record.finallyAt = performance.now();
      }
    };
    if (req.url === '/web') {
      void streamingResponse(source, { format: sse(), signal: external.signal }).then((response) => writeResponse(res, response));
    } else {
      void sendStream(res, source, { format: sse(), signal: external.signal });
    }
  });
});

afterAll(async () => {
  await server.close();
});

/** Connects, waits for the first event, then drops the connection; resolves with when it dropped. */
function connectAndDrop(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { agent: false }, (res) => {
      res.once('data', () => {
        const droppedAt = performance.now();
        req.destroy();
        resolve(droppedAt);
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
}

async function settle(): Promise<void> {
  await expect.poll(() => new Promise<number>((resolve) => server.server.getConnections((_e, n) => resolve(n))), { timeout: 5000 }).toBe(0);
  await expect.poll(() => records.every((r) => !Number.isNaN(r.finallyAt)), { timeout: 5000 }).toBe(true);
}

function resources(): string[] {
  return process.getActiveResourcesInfo().filter((name) => name !== 'TTYWrap');
}

it('runs every producer’s finally and aborts its signal within 100 ms, for 1,000 disconnects in a row', async () => {
  // Warm up (JIT, lazy module state) so the baseline is honest.
  for (let i = 0; i < 50; i++) await connectAndDrop(i % 2 ? '/web' : '/');
  await settle();
  records.length = 0;
  refs.length = 0;
  gc();
  const baselineHeap = process.memoryUsage().heapUsed;
  const baseline = resources();

  const latencies: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const path = i % 2 ? '/web' : '/';
    const droppedAt = await connectAndDrop(path);
    const record = records[records.length - 1]!;
    await expect
      .poll(() => !Number.isNaN(record.finallyAt) && !Number.isNaN(record.abortedAt), { timeout: 1000, interval: 1 })
      .toBe(true);
    latencies.push(Math.max(record.abortedAt, record.finallyAt) - droppedAt);
  }
  await settle();

  // Back to baseline: no stream left holding a timer or socket, no listener left on the shared signal.
  // (Checked before anything is logged: the test runner's console handling has handles of its own.)
  expect(getEventListeners(external.signal, 'abort')).toHaveLength(0);
  await vi.waitFor(
    () => {
      const now = resources();
      if (now.length > baseline.length) throw new Error(`open handles: ${now.join(', ')}; at baseline: ${baseline.join(', ')}`);
    },
    { timeout: 5000, interval: 20 },
  );
  expect(refs).toHaveLength(2000);
  // Let pending timers and socket callbacks of the last streams run, then collect.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  const growth = process.memoryUsage().heapUsed - baselineHeap;

  expect(records).toHaveLength(1000);
  latencies.sort((a, b) => a - b);
  const worst = latencies[latencies.length - 1]!;
  console.log(`disconnects: median ${latencies[500]!.toFixed(2)} ms, worst ${worst.toFixed(2)} ms from drop to finally`);
  console.log(`disconnects: ${alive} of 2,000 responses and signals still reachable; heap growth ${(growth / 1024).toFixed(0)} KiB`);
  expect(worst).toBeLessThan(100);
  expect(alive).toBe(0);
  expect(growth).toBeLessThan(8 * 1024 * 1024);
}, 120_000);
