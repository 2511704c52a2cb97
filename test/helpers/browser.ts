/**
 * Helpers of the browser tests of the web page: Debian's Chromium through playwright-core (a
 * missing browser fails with CI=true and skips with a message elsewhere), the page's vite build,
 * the real app on 127.0.0.1, and bounded waits that fail with a message.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as httpRequest, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Chromium is (`CHROMIUM_PATH` overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser tests can run. With CI=true a missing Chromium throws (the suite fails);
 * elsewhere it warns with how to install it, and the caller skips.
 */
export function chromiumAvailable(suite: string): boolean {
  const available = existsSync(CHROMIUM);
  if (!available && process.env.CI === 'true') {
    throw new Error(`Chromium is required in CI but was not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH).`);
  }
  if (!available) console.warn(`${suite}: skipped, no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH.`);
  return available;
}

/** Launches headless Chromium. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The newest modification time of the files under a folder. */
function newest(folder: string): number {
  let time = 0;
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) time = Math.max(time, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return time;
}

/** Builds the page into dist/web/ with vite when the build is missing or older than web/ (`npm run build` makes it). */
export async function ensureWebBuild(): Promise<void> {
  const built = fileURLToPath(new URL('../../dist/web/index.html', import.meta.url));
  if (existsSync(built) && statSync(built).mtimeMs >= newest(fileURLToPath(new URL('../../web/', import.meta.url)))) return;
  const { build } = await import('vite');
  await build({ configFile: new URL('../../vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
}

/** Console errors and page errors of a page, collected for a "no errors" assertion. */
export function collectErrors(page: Page, allowed: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !allowed.some((pattern) => pattern.test(message.text()))) errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
  return errors;
}

/**
 * Waits until `check` returns a value that is not `undefined`/`null`/`false`, polling every 20 ms;
 * fails with `message` (and the last value seen) after `timeoutMs`.
 */
export async function waitUntil<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, message: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether the app serves the stream routes (`GET`/`DELETE /v1/streams/:id`) itself. */
export async function hasStreamRoutes(url: string): Promise<boolean> {
  const response = await fetch(`${url}/v1/streams/00000000-0000-4000-8000-000000000000`);
  const body = await response.text();
  return !(response.status === 404 && body.includes('No route for'));
}

interface FakeStream {
  events: { id: number; block: string }[];
  ended: boolean;
  waiters: Set<() => void>;
  upstream: AbortController;
}

/**
 * A stand-in for the stream routes, for an app that does not have them yet: `POST /v1/chat` is
 * proxied to the real app, its events kept here (the generation goes on when the browser leaves);
 * `GET /v1/streams/:id` replays them after `Last-Event-ID` and follows; `DELETE` stops the upstream
 * request (the real app aborts the model) and ends the stream with an `abort` event. Everything
 * else goes to the app as it is.
 */
export function withFakeStreamRoutes(app: RequestListener, appUrl: () => string): RequestListener {
  const streams = new Map<string, FakeStream>();
  const push = (stream: FakeStream, block: string): void => {
    stream.events.push({ id: stream.events.length + 1, block });
    for (const wake of stream.waiters) wake();
  };
  const follow = async (stream: FakeStream, res: ServerResponse, after: number, streamId: string): Promise<void> => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-stream-id': streamId });
    let next = after;
    let open = true;
    let wakeOnClose: (() => void) | undefined;
    res.on('close', () => {
      open = false;
      wakeOnClose?.();
    });
    while (open) {
      for (; next < stream.events.length; next++) {
        const event = stream.events[next] as { id: number; block: string };
        res.write(`id: ${event.id}\n${event.block}\n\n`);
      }
      if (stream.ended) break;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          stream.waiters.delete(wake);
          resolve();
        };
        stream.waiters.add(wake);
        wakeOnClose = wake;
      });
    }
    res.end();
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = /^\/v1\/streams\/([^/]+)$/.exec(path);
    if (match !== null && (req.method === 'GET' || req.method === 'DELETE')) {
      const streamId = decodeURIComponent(match[1] as string);
      const stream = streams.get(streamId);
      if (stream === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'unknown stream' } }));
        return;
      }
      if (req.method === 'DELETE') {
        if (!stream.ended) {
          stream.upstream.abort();
          stream.ended = true;
          push(stream, `event: abort\ndata: ${JSON.stringify({ type: 'abort', reason: 'stopped' })}`);
        }
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: streamId, stopped: true }));
        return;
      }
      void follow(stream, res, Number(req.headers['last-event-id'] ?? 0) || 0, streamId);
      return;
    }
    if (!(req.method === 'POST' && path === '/v1/chat')) {
      app(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const upstream = new AbortController();
      const forward = httpRequest(`${appUrl()}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, signal: upstream.signal }, (answer) => {
        if (answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const streamId = crypto.randomUUID();
        const stream: FakeStream = { events: [], ended: false, waiters: new Set(), upstream };
        streams.set(streamId, stream);
        let buffer = '';
        answer.setEncoding('utf8');
        answer.on('data', (text: string) => {
          buffer += text;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end).split('\n').filter((line) => !line.startsWith('id:') && !line.startsWith(':')).join('\n');
            buffer = buffer.slice(end + 2);
            if (block !== '' && !stream.ended) push(stream, block);
          }
        });
        const close = (): void => {
          stream.ended = true;
          for (const wake of stream.waiters) wake();
        };
        answer.on('end', close);
        answer.on('error', close);
        answer.on('aborted', close);
        void follow(stream, res, 0, streamId);
      });
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
      });
      forward.end(Buffer.concat(chunks));
    });
  };
}
