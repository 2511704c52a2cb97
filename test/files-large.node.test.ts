/**
 * A 1 GiB download from GET /v1/files/:name, read to its end by a real client: every byte
 * arrives, and the server (a child process, so its memory is its own) grows by less than 64 MB,
 * sampled all along the transfer. The file is sparse, so the test needs no 1 GiB of disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const MB = 1024 * 1024;
const SIZE = 1024 * MB;
const dir = mkdtempSync(join(tmpdir(), 'sluice-large-'));
let child: ChildProcess;
let base: string;

beforeAll(async () => {
  writeFileSync(join(dir, 'large.bin'), '');
  truncateSync(join(dir, 'large.bin'), SIZE);
  const script = fileURLToPath(new URL('./scripts/files-server.ts', import.meta.url));
  child = spawn(process.execPath, [script], { env: { ...process.env, FILES_DIR: dir, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = /listening (\d+)/.exec(line.toString())?.[1];
  expect(port).toBeDefined();
  base = `http://127.0.0.1:${port}`;
});

afterAll(() => {
  child.kill();
  rmSync(dir, { recursive: true, force: true });
});

const rss = async (): Promise<number> => ((await (await fetch(`${base}/stats`)).json()) as { rss: number }).rss;

it('streams 1 GiB to its end with server memory growth under 64 MB', async () => {
  // Warm up the route (first request compiles and opens what it needs), then take the baseline.
  await (await fetch(`${base}/v1/files/large.bin`, { headers: { range: 'bytes=0-1023' } })).arrayBuffer();
  const baseline = await rss();
  let peak = baseline;
  let received = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rss());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${base}/v1/files/large.bin`, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  sampling = false;
  await sampler;
  expect(status).toBe(200);
  expect(received).toBe(SIZE);
  expect((peak - baseline) / MB).toBeLessThan(64);
}, 120_000);
