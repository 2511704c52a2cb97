/**
 * GET /v1/files/:name: exact bytes for Range, 206 / 416 / 304, HEAD, If-Range, the bundled
 * seekable video, and names that try to leave the folder in several encodings.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendError } from '../src/server/http-error.ts';
import { Router } from '../src/server/router.ts';
import { BUNDLED_SAMPLES_DIR, createFilesRoute, isSafeFileName, parseRange } from '../src/server/routes/files.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-files-'));
const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
const SECRET = 'the secret outside the folder';
const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
let server: TestServer;
let bundled: TestServer;

function serveFolder(folder: string | URL): Promise<TestServer> {
  const files = createFilesRoute({ dir: folder });
  const router = new Router().on('GET', '/v1/files/:name', files).on('HEAD', '/v1/files/:name', files);
  return startServer((req, res) => {
    try {
      const { handler, params } = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
      Promise.resolve(handler(req, res, { url: new URL(req.url ?? '/', 'http://x'), params })).catch((error: unknown) => sendError(res, error));
    } catch (error) {
      sendError(res, error);
    }
  });
}

/** A request with the path sent exactly as written (fetch would normalise dot-segments). */
function raw(url: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  writeFileSync(join(dir, 'data.bin'), content);
  writeFileSync(join(dir, 'empty.txt'), '');
  writeFileSync(join(dir, '数据 file.txt'), '中文名字');
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'link-out.txt'));
  server = await serveFolder(dir);
  bundled = await serveFolder(BUNDLED_SAMPLES_DIR);
});
afterAll(async () => {
  await server.close();
  await bundled.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('GET /v1/files/:name', () => {
  it('sends the whole file with its length, type, ETag, Last-Modified and Accept-Ranges', async () => {
    const response = await fetch(`${server.url}/v1/files/data.bin`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    expect(response.headers.get('content-length')).toBe('1000');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(response.headers.get('last-modified')).toMatch(/GMT$/);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=10-19', 10, 19],
    ['bytes=990-', 990, 999],
    ['bytes=-7', 993, 999],
    ['bytes=995-5000', 995, 999],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const response = await fetch(`${server.url}/v1/files/data.bin`, { headers: { range } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
    expect(response.headers.get('content-length')).toBe(String(end - start + 1));
    expect(Buffer.from(await response.arrayBuffer()).equals(content.subarray(start, end + 1))).toBe(true);
  });

  it('answers a range past the end with 416 and the size', async () => {
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const response = await fetch(`${server.url}/v1/files/data.bin`, { headers: { range } });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe('bytes */1000');
      expect(await response.json()).toMatchObject({ error: { code: 'range_not_satisfiable' } });
    }
  });

  it('ignores ranges it does not serve (several ranges, other units, garbage) with a full 200', async () => {
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=abc', 'bytes=9-3']) {
      const response = await fetch(`${server.url}/v1/files/data.bin`, { headers: { range } });
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(1000);
    }
  });

  it('answers 304 to a matching If-None-Match, weak or in a list, and 200 to another', async () => {
    const etag = (await fetch(`${server.url}/v1/files/data.bin`, { method: 'HEAD' })).headers.get('etag')!;
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const response = await fetch(`${server.url}/v1/files/data.bin`, { headers: { 'if-none-match': header } });
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
    expect((await fetch(`${server.url}/v1/files/data.bin`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('applies Range only while If-Range names the current version', async () => {
    const etag = (await fetch(`${server.url}/v1/files/data.bin`, { method: 'HEAD' })).headers.get('etag')!;
    expect((await fetch(`${server.url}/v1/files/data.bin`, { headers: { range: 'bytes=0-9', 'if-range': etag } })).status).toBe(206);
    expect((await fetch(`${server.url}/v1/files/data.bin`, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } })).status).toBe(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const response = await raw(server.url, '/v1/files/data.bin', 'HEAD', { range: 'bytes=0-9' });
    expect(response.status).toBe(206);
    expect(response.headers['content-length']).toBe('10');
    expect(response.body.length).toBe(0);
  });

  it('serves an empty file and a file with a non-ASCII name', async () => {
    const empty = await fetch(`${server.url}/v1/files/empty.txt`);
    expect([empty.status, await empty.text(), empty.headers.get('content-length')]).toEqual([200, '', '0']);
    const chinese = await fetch(`${server.url}/v1/files/${encodeURIComponent('数据 file.txt')}`);
    expect([chinese.status, await chinese.text()]).toEqual([200, '中文名字']);
  });

  it.each([
    '/v1/files/..%2f..%2fetc%2fpasswd',
    '/v1/files/%2e%2e%2fpackage.json',
    '/v1/files/%2e%2e',
    '/v1/files/..%5cpackage.json',
    '/v1/files/%252e%252e%252fpackage.json',
    '/v1/files/..%c0%afpackage.json',
    '/v1/files/data.bin%00.txt',
    '/v1/files/%2fetc%2fpasswd',
    '/v1/files/.hidden',
    '/v1/files/link-out.txt',
    `/v1/files/${'a'.repeat(300)}`,
  ])('never leaves the folder: %s', async (path) => {
    const response = await raw(server.url, path);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.body.toString()).not.toContain(SECRET);
    expect(response.body.toString()).not.toContain('"name": "sluice"');
    expect(response.body.length).toBeLessThan(1000);
  });

  it('answers an unknown file with 404 JSON', async () => {
    const response = await fetch(`${server.url}/v1/files/nope.txt`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('serves the bundled seekable sample video in ranges (WebM magic at 0, any range exact)', async () => {
    const head = await fetch(`${bundled.url}/v1/files/sample-video.webm`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('video/webm');
    const size = Number(head.headers.get('content-length'));
    expect(size).toBeGreaterThan(10_000);
    const start = await fetch(`${bundled.url}/v1/files/sample-video.webm`, { headers: { range: 'bytes=0-3' } });
    expect(Buffer.from(await start.arrayBuffer()).toString('hex')).toBe('1a45dfa3');
    const whole = Buffer.from(await (await fetch(`${bundled.url}/v1/files/sample-video.webm`)).arrayBuffer());
    const middle = await fetch(`${bundled.url}/v1/files/sample-video.webm`, { headers: { range: `bytes=${size >> 1}-${(size >> 1) + 999}` } });
    expect(Buffer.from(await middle.arrayBuffer()).equals(whole.subarray(size >> 1, (size >> 1) + 1000))).toBe(true);
  });
});

describe('file names and ranges', () => {
  it('accepts plain names only', () => {
    expect(['a.txt', '数据.csv', 'x y.bin', 'a..b'].every(isSafeFileName)).toBe(true);
    expect(['', '.', '..', '.env', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(256)].some(isSafeFileName)).toBe(false);
  });
  it('parses single byte ranges by RFC 9110', () => {
    expect(parseRange('bytes=0-', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange(undefined, 10)).toBeUndefined();
  });
});

