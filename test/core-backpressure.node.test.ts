/**
 * Must-show 2 of the streaming core: a producer that could emit 1 GB as fast as possible, read by
 * a client at about 1 MB/s. The server (a child process, so its memory is its own) grows by less
 * than 32 MB, and the producer has been pulled only as far as the socket allows: what it produced
 * minus what the client received is bounded by the socket buffers, not by the producer's speed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

interface Stats {
  produced: number;
  finished: boolean;
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

const MB = 1024 * 1024;
const READ_SECONDS = 4;
const RATE = 1 * MB; // bytes per second

let child: ChildProcess;
let base: string;

beforeAll(async () => {
  const script = fileURLToPath(new URL('./scripts/firehose-server.ts', import.meta.url));
  child = spawn(process.execPath, ['--expose-gc', script], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = /listening (\d+)/.exec(line.toString())?.[1];
  expect(port).toBeDefined();
  base = `http://127.0.0.1:${port}`;
});

afterAll(() => {
  child.kill();
});

async function stats(): Promise<Stats> {
  const response = await fetch(`${base}/stats`);
  return (await response.json()) as Stats;
}

it('keeps server memory under 32 MB and pulls the producer only as far as a 1 MB/s client reads', async () => {
  const before = await stats();
  let received = 0;
  let maxRss = before.rss;
  let maxAhead = 0;
  const started = performance.now();

  await new Promise<void>((resolve, reject) => {
    const req = request(`${base}/firehose`, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        const elapsed = (performance.now() - started) / 1000;
        if (elapsed >= READ_SECONDS) {
          req.destroy();
          resolve();
          return;
        }
        // Pace the reader at RATE: pause until the schedule catches up with what was read.
        const aheadMs = (received / RATE - elapsed) * 1000;
        if (aheadMs > 0) {
          res.pause();
          setTimeout(() => {
            void stats().then((s) => {
              maxRss = Math.max(maxRss, s.rss);
              maxAhead = Math.max(maxAhead, s.produced - received);
              res.resume();
            }, reject);
          }, aheadMs);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
  });

  const after = await stats();
  maxRss = Math.max(maxRss, after.rss);
  const growth = maxRss - before.rss;
  const ahead = Math.max(maxAhead, after.produced - received);
  console.log(
    `backpressure: received ${(received / MB).toFixed(1)} MB in ${READ_SECONDS}s, producer pulled ${(after.produced / MB).toFixed(1)} MB ` +
      `(at most ${(ahead / MB).toFixed(1)} MB ahead of the client), server RSS growth ${(growth / MB).toFixed(1)} MB`,
  );
  // The client read at about 1 MB/s.
  expect(received).toBeGreaterThan(2 * MB);
  expect(received).toBeLessThan((READ_SECONDS + 2) * RATE);
  // Bounded memory whatever the producer's speed.
  expect(growth).toBeLessThan(32 * MB);
  // Only as far as the socket allows: kernel send/receive buffers plus a few batches, not 1 GB.
  expect(ahead).toBeLessThan(16 * MB);
  expect(after.produced).toBeLessThan(received + 16 * MB);
  // The client went away mid-stream: the producer was stopped, its finally ran.
  await expect.poll(async () => (await stats()).finished, { timeout: 2000 }).toBe(true);
});
