/**
 * How the page and its assets are served: the page with a Content-Security-Policy that allows no
 * inline script and no other origin, `Referrer-Policy`, `nosniff` and the right content type on
 * every answer, `HEAD` with the same headers and no body, cache headers, and 404 for unknown
 * assets and for names that try to leave the build folder. The build itself has no inline script
 * and loads nothing from another origin.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { ensureWebBuild } from './helpers/browser.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let server: TestServer;
const DIST = new URL('../dist/web/', import.meta.url);

beforeAll(async () => {
  await ensureWebBuild();
  server = await startServer(createApp({ onError: () => {} }));
});
afterAll(() => server?.close());

/** The build's hashed assets, by extension. */
function asset(extension: string): string {
  const name = readdirSync(new URL('assets/', DIST)).find((file) => file.endsWith(`.${extension}`));
  if (name === undefined) throw new Error(`the build has no .${extension} asset`);
  return name;
}

describe('GET /', () => {
  it('serves the built page with a strict CSP, no referrer and nosniff', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "media-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await response.text();
    expect(html).toContain('<script type="module" crossorigin src="/assets/');
    // No inline script, no inline handler, nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await fetch(`${server.url}/`);
    const head = await fetch(`${server.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(head.headers.get('content-security-policy')).toBe(get.headers.get('content-security-policy'));
    expect(await head.text()).toBe('');
    await get.body?.cancel();
  });

  it('bundles marked, DOMPurify and the SSE client: the JS loads nothing from a CDN', () => {
    const js = readFileSync(new URL(`assets/${asset('js')}`, DIST), 'utf8');
    expect(js).toContain('DOMPurify');
    expect(js).toContain('last-event-id');
    expect(js).not.toMatch(/import\s*\(?\s*["']https?:/);
    expect(js).not.toMatch(/unpkg|jsdelivr|cdnjs|esm\.sh/);
  });
});

describe('GET /assets/:file and /favicon.svg', () => {
  it.each([
    ['js', 'text/javascript; charset=utf-8'],
    ['css', 'text/css; charset=utf-8'],
  ])('serves the built .%s with its content type, nosniff and a long cache', async (extension, type) => {
    const name = asset(extension);
    const response = await fetch(`${server.url}/assets/${name}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect(await response.text()).toBe(readFileSync(new URL(`assets/${name}`, DIST), 'utf8'));
    const head = await fetch(`${server.url}/assets/${name}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(type);
    expect(await head.text()).toBe('');
  });

  it('serves the favicon as SVG', async () => {
    const response = await fetch(`${server.url}/favicon.svg`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/svg+xml');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<svg');
  });

  it.each([
    '/assets/nope.js',
    '/assets/index.html',
    '/assets/..%2Findex.html',
    '/assets/..%2F..%2Fpackage.json',
    '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
    '/assets/..%5C..%5Cpackage.json',
    `/assets/${'a'.repeat(300)}.js`,
    '/assets/a.js%00.css',
    '/assets/sluice/core/index.js',
    '/favicon.ico',
  ])('answers %s with a JSON 404, never a file from elsewhere', async (path) => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe('not_found');
  });

  it('keeps dot segments from reaching the route (the URL parser resolves them first)', async () => {
    const response = await fetch(`${server.url}/assets/../../package.json`);
    // fetch normalizes the path to /package.json, which is no route.
    expect(response.status).toBe(404);
  });
});
