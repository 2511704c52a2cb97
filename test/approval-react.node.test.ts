/**
 * The React example (`examples/react-chat`: `@ai-sdk/react`'s `useChat`, unchanged, served next to
 * sluice by `serve.ts`) in Chromium: an answer streams in; a reload mid-answer resumes it
 * (`resume: true` → `GET /api/chat/:id/stream`, no second `POST`); Approve on a tool that needs
 * approval runs it and the answer uses its result, also after a reload while it waits; Stop stops
 * the generation on the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, collectErrors, launchBrowser, waitUntil } from './helpers/browser.ts';

const available = chromiumAvailable('React example tests');
const EXAMPLE = fileURLToPath(new URL('../examples/react-chat/', import.meta.url));
let browser: Browser;
let child: ChildProcess;
let url: string;

function newest(dir: string): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.parentPath.includes(`${'/'}dist`)) time = Math.max(time, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return time;
}

beforeAll(async () => {
  if (!available) return;
  const built = join(EXAMPLE, 'dist/index.html');
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(EXAMPLE, 'src'))) {
    const { build } = await import('vite');
    await build({ configFile: join(EXAMPLE, 'vite.config.ts'), logLevel: 'warn' });
  }
  child = spawn(process.execPath, [join(EXAMPLE, 'serve.ts')], {
    env: { ...process.env, PORT: '0', SLUICE_MODEL: 'local', SLUICE_LOCAL_TTFT_MS: '150', SLUICE_LOCAL_TPS: '40', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve.ts did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /on (http:\/\/localhost:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  child?.kill('SIGKILL');
});

const LAST_ASSISTANT = 'article.msg.assistant >> nth=-1';

async function lastText(page: Page): Promise<string> {
  return (await page.locator(`${LAST_ASSISTANT} >> .text`).allTextContents()).join('');
}

async function ask(page: Page, question: string): Promise<void> {
  await page.fill('input[aria-label=message]', question);
  await page.click('button[type=submit]');
}

describe.skipIf(!available)('examples/react-chat (useChat) in Chromium', () => {
  it('streams an answer, resumes it after a reload mid-answer, and runs a tool after Approve (also after a reload while it waits)', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    const page = await context.newPage();
    const errors = collectErrors(page);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
    await page.goto(url);

    // An answer streams: its text is seen at several lengths before it is done.
    await ask(page, 'What is backpressure?');
    const lengths = new Set<number>();
    await waitUntil(async () => {
      lengths.add((await lastText(page)).length);
      return (await page.getAttribute('.status', 'data-status')) === 'ready' && lengths.size > 3;
    }, 'the first answer did not stream to the end', 30_000);
    expect(lengths.size).toBeGreaterThanOrEqual(3);

    // A reload mid-answer resumes it: no second POST, a GET of the chat's stream, the whole answer.
    await ask(page, 'What does resume after a reload mean?');
    const before = await waitUntil(async () => {
      if ((await page.locator('article.msg.assistant').count()) < 2) return undefined;
      const text = await lastText(page);
      return text.length > 20 && (await page.getAttribute('.status', 'data-status')) === 'streaming' ? text : undefined;
    }, 'the second answer did not start', 20_000);
    const posts = requests.filter((request) => request === 'POST /api/chat').length;
    await page.reload();
    await waitUntil(async () => (await page.getAttribute('.status', 'data-status')) === 'ready' && (await lastText(page)).length > before.length, 'the resumed answer did not finish', 30_000);
    expect(await lastText(page)).toContain(before.slice(0, 20));
    expect(requests.filter((request) => request === 'POST /api/chat').length).toBe(posts);
    expect(requests.some((request) => /^GET \/api\/chat\/[^/]+\/stream$/.test(request))).toBe(true);
    expect(await page.locator('article.msg.user').count()).toBe(2);

    // Approve: the tool runs and the answer uses its result.
    await ask(page, 'Publish "hello from react" on topic react-news');
    await page.waitForSelector('.tool[data-state=approval-requested] button:has-text("Approve")', { timeout: 20_000 });
    // A reload while the run waits: the resumed stream stops again where it waits, with the buttons.
    await page.reload();
    await page.waitForSelector('.tool[data-state=approval-requested] button:has-text("Approve")', { timeout: 20_000 });
    await waitUntil(async () => (await page.getAttribute('.status', 'data-status')) === 'ready', 'the resumed chat did not become ready while waiting', 10_000);
    await page.click('.tool[data-state=approval-requested] button:has-text("Approve")');
    const published = '.tool[data-state=output-available]:has-text("publish_event") .tool-output';
    await page.waitForSelector(published, { timeout: 20_000 });
    const { id } = JSON.parse((await page.textContent(published)) ?? '{}') as { id: string };
    expect(id).toMatch(/.+/);
    await waitUntil(
      async () => (await page.getAttribute('.status', 'data-status')) === 'ready' && (await lastText(page)).includes(`Approved and published: the event's id is`),
      'the answer after Approve did not come',
      20_000,
    );
    const finalText = await lastText(page);
    expect(finalText, finalText).toContain(id);
    await page.screenshot({ path: 'test-results/approval-react.png', fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('Stop stops the generation on the server (DELETE /v1/streams/:id) and a reload does not resume it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const deletes: number[] = [];
    page.on('response', (response) => {
      if (response.request().method() === 'DELETE') deletes.push(response.status());
    });
    await page.goto(url);
    await ask(page, 'Write a report on backpressure');
    await waitUntil(async () => (await lastText(page)).length > 10, 'the answer did not start', 20_000);
    await page.click('button:has-text("Stop")');
    await waitUntil(() => deletes.length > 0, 'no DELETE was sent', 10_000);
    expect(deletes).toEqual([202]);
    await waitUntil(async () => (await page.getAttribute('.status', 'data-status')) === 'ready', 'the chat did not become ready', 10_000);
    const resumes: number[] = [];
    page.on('response', (response) => {
      if (/\/api\/chat\/[^/]+\/stream$/.test(response.url())) resumes.push(response.status());
    });
    await page.reload();
    await waitUntil(() => resumes.length > 0, 'the page did not ask to resume', 10_000);
    // The stopped stream is over: nothing to resume.
    expect(resumes.every((status) => status === 204)).toBe(true);
    await context.close();
  });
});
