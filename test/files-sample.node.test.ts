/**
 * The page's 64 MiB download, `large-sample.bin`, is not shipped in the package: the server's
 * default files route writes it on its first request into a cache folder, the same bytes every
 * time, while the shipped samples are served from dist/samples/ as before.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { sendError } from '../src/server/http-error.ts';
import { Router } from '../src/server/router.ts';
import { BUNDLED_SAMPLES_DIR } from '../src/server/routes/files.ts';
import { LARGE_SAMPLE_BYTES, LARGE_SAMPLE_NAME, LONG_VIDEO_NAME, createSampleFilesRoute, largeSampleByte } from '../src/server/routes/sample-files.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const cacheDir = join(mkdtempSync(join(tmpdir(), 'sluice-sample-cache-')), 'nested');
let server: TestServer;

function serveSamples(dir: string): Promise<TestServer> {
  const files = createSampleFilesRoute({ cacheDir: dir });
  const router = new Router().on('GET', '/v1/files/:name', files).on('HEAD', '/v1/files/:name', files);
  return startServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
      Promise.resolve(handler(req, res, { url, params })).catch((error: unknown) => sendError(res, error));
    } catch (error) {
      sendError(res, error);
    }
  });
}

function expectSampleBytes(body: Buffer, start: number): void {
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== largeSampleByte(start + i)) throw new Error(`byte ${start + i} is ${body[i]}, expected ${largeSampleByte(start + i)}`);
  }
}

beforeAll(async () => {
  server = await serveSamples(cacheDir);
});
afterAll(async () => {
  await server.close();
  rmSync(join(cacheDir, '..'), { recursive: true, force: true });
});

describe('the bundled samples', () => {
  it('ship no large-sample.bin in dist/samples/ (the build no longer writes it)', () => {
    const shipped = readdirSync(BUNDLED_SAMPLES_DIR);
    expect(shipped).toContain('hello.txt');
    expect(shipped).not.toContain(LARGE_SAMPLE_NAME);
    const total = shipped.reduce((sum, name) => sum + statSync(new URL(name, BUNDLED_SAMPLES_DIR)).size, 0);
    expect(total).toBeLessThan(1024 * 1024);
  });

  it('writes large-sample.bin on its first request, concurrent first requests sharing one write, and serves the exact bytes', { timeout: 60_000 }, async () => {
    expect(existsSync(cacheDir)).toBe(false);
    const responses = await Promise.all([1, 2, 3].map(() => fetch(`${server.url}/v1/files/${LARGE_SAMPLE_NAME}`, { method: 'HEAD' })));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(new Set(responses.map((response) => response.headers.get('etag'))).size).toBe(1);
    expect(responses[0]!.headers.get('content-length')).toBe(String(LARGE_SAMPLE_BYTES));
    // One file, no temporary leftovers.
    expect(readdirSync(cacheDir)).toEqual([LARGE_SAMPLE_NAME]);
    expect(statSync(join(cacheDir, LARGE_SAMPLE_NAME)).size).toBe(LARGE_SAMPLE_BYTES);

    const whole = Buffer.from(await (await fetch(`${server.url}/v1/files/${LARGE_SAMPLE_NAME}`)).arrayBuffer());
    expect(whole.length).toBe(LARGE_SAMPLE_BYTES);
    expectSampleBytes(whole, 0);
  });

  it('answers a Range with the bytes at those offsets', async () => {
    const start = LARGE_SAMPLE_BYTES - 1000;
    const response = await fetch(`${server.url}/v1/files/${LARGE_SAMPLE_NAME}`, { headers: { range: `bytes=${start}-` } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${start}-${LARGE_SAMPLE_BYTES - 1}/${LARGE_SAMPLE_BYTES}`);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(1000);
    expectSampleBytes(body, start);
  });

  it('reuses the written file (a second server, the same ETag) and writes it again when it is gone', { timeout: 60_000 }, async () => {
    const first = (await fetch(`${server.url}/v1/files/${LARGE_SAMPLE_NAME}`, { method: 'HEAD' })).headers.get('etag');
    const other = await serveSamples(cacheDir);
    try {
      expect((await fetch(`${other.url}/v1/files/${LARGE_SAMPLE_NAME}`, { method: 'HEAD' })).headers.get('etag')).toBe(first);
      rmSync(join(cacheDir, LARGE_SAMPLE_NAME));
      const again = await fetch(`${other.url}/v1/files/${LARGE_SAMPLE_NAME}`, { headers: { range: 'bytes=1000000-1000099' } });
      expect(again.status).toBe(206);
      expectSampleBytes(Buffer.from(await again.arrayBuffer()), 1_000_000);
    } finally {
      await other.close();
    }
  });

  it('serves the shipped samples from dist/samples/ next to it', async () => {
    const response = await fetch(`${server.url}/v1/files/hello.txt`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('你好');
    expect((await fetch(`${server.url}/v1/files/missing.txt`)).status).toBe(404);
  });

  it("is the app's files route when SLUICE_FILES_DIR is not set", { timeout: 60_000 }, async () => {
    const app = await startServer(createApp({ env: {} }));
    try {
      const response = await fetch(`${app.url}/v1/files/${LARGE_SAMPLE_NAME}`, { headers: { range: 'bytes=251-260' } });
      expect(response.status).toBe(206);
      expectSampleBytes(Buffer.from(await response.arrayBuffer()), 251);
      expect((await fetch(`${app.url}/v1/files/sample-video.webm`, { method: 'HEAD' })).headers.get('content-type')).toBe('video/webm');
    } finally {
      await app.close();
    }
  });
});

describe("the samples cache folder is this user's own", () => {
  it('refuses to serve or write samples in a folder other users can write to, naming the folder', async () => {
    const shared = join(mkdtempSync(join(tmpdir(), 'sluice-sample-shared-')), 'cache');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777); // past the umask: a folder another user could have planted files in
    writeFileSync(join(shared, LONG_VIDEO_NAME), 'PLANTED');
    const planted = await serveSamples(shared);
    try {
      for (const name of [LONG_VIDEO_NAME, LARGE_SAMPLE_NAME]) {
        const response = await fetch(`${planted.url}/v1/files/${name}`);
        expect(response.status).toBe(500);
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('samples_cache_unsafe');
        expect(body.error.message).toContain(shared);
      }
      expect(existsSync(join(shared, LARGE_SAMPLE_NAME))).toBe(false);
    } finally {
      await planted.close();
      rmSync(join(shared, '..'), { recursive: true, force: true });
    }
  });

  it('checks the folder on every request: one removed and made again by someone else after a first good request is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-sample-again-'));
    const cache = join(root, 'cache');
    const samples = await serveSamples(cache);
    try {
      mkdirSync(cache, { mode: 0o700 });
      writeFileSync(join(cache, LONG_VIDEO_NAME), 'OURS');
      expect((await fetch(`${samples.url}/v1/files/${LONG_VIDEO_NAME}`)).status).toBe(200);
      // Removed (a temp-folder cleaner), then made again, writable by anyone, with a planted file.
      rmSync(cache, { recursive: true, force: true });
      mkdirSync(cache);
      chmodSync(cache, 0o777);
      writeFileSync(join(cache, LONG_VIDEO_NAME), 'PLANTED');
      const response = await fetch(`${samples.url}/v1/files/${LONG_VIDEO_NAME}`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('samples_cache_unsafe');
    } finally {
      await samples.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a symbolic link in place of the folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-sample-link-'));
    mkdirSync(join(root, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(root, 'elsewhere'), join(root, 'cache'));
    const linked = await serveSamples(join(root, 'cache'));
    try {
      const response = await fetch(`${linked.url}/v1/files/${LARGE_SAMPLE_NAME}`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('samples_cache_unsafe');
      expect(readdirSync(join(root, 'elsewhere'))).toEqual([]);
      // A file where the folder should be is refused the same way.
      rmSync(join(root, 'cache'));
      writeFileSync(join(root, 'cache'), 'not a folder');
      const file = await fetch(`${linked.url}/v1/files/${LARGE_SAMPLE_NAME}`);
      expect(file.status).toBe(500);
      expect(((await file.json()) as { error: { code: string } }).error.code).toBe('samples_cache_unsafe');
    } finally {
      await linked.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
