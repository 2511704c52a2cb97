/**
 * The web page at `GET /`, in a real browser (Debian's Chromium through playwright-core): a
 * question streams back as live text with the model's thinking, the stop button stops a
 * generation (and the server's source sees the abort), and sluice's own SSE client runs in the
 * browser. Needs Chromium: with CI=true a missing browser fails the test; elsewhere it is skipped
 * with a message saying how to install it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') {
  throw new Error(`Chromium is required in CI but was not found at ${CHROMIUM} (apt-get install -y chromium).`);
}
if (!available) console.warn(`web-page tests skipped: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` or set CHROMIUM_PATH.`);

let server: TestServer;
let browser: Browser;
let aborted = 0;

beforeAll(async () => {
  if (!available) return;
  const local = createLocalProvider({ ttftMs: 50, tokensPerSecond: 200 });
  // The local model, counting the generations that were stopped by their signal.
  const counting: Provider = (request, options) => {
    options?.signal?.addEventListener('abort', () => aborted++, { once: true });
    return local(request, options);
  };
  // Grace 0: a client that leaves stops its generation at once (by default it waits 30 s to be resumed).
  server = await startServer(createApp({ env: {}, detachGraceMs: 0, models: createModelRegistry({ env: {}, providers: { local: counting } }) }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(!available)('the web page', () => {
  it('streams an answer with its thinking, as text that grows while it arrives', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.fill('#input', 'What is backpressure?');
    await page.click('#send');
    const answer = page.locator('.msg.assistant').last();
    // While streaming: the cursor is shown and the text grows.
    await expect.poll(async () => (await answer.textContent())?.length ?? 0).toBeGreaterThan(40);
    const partial = (await answer.textContent()) ?? '';
    await expect.poll(async () => answer.locator('.meta').count(), { timeout: 20_000 }).toBe(1);
    const full = (await answer.textContent()) ?? '';
    expect(full.length).toBeGreaterThan(partial.length);
    expect(full).toMatch(/backpressure/i);
    expect(await answer.locator('.thinking').textContent()).toMatch(/backpressure/i);
    expect(await answer.locator('.meta').textContent()).toMatch(/ms to first token.*finish: stop/);
    // The finished text is rendered: headings in bold, the example as a code block, no raw markers.
    expect(await answer.locator('strong').first().textContent()).toBe('Backpressure');
    expect(await answer.locator('pre code').count()).toBeGreaterThan(0);
    expect(await answer.locator('span').first().textContent()).not.toContain('**');
    await page.screenshot({ path: 'test-results/web-page.png', fullPage: true });
    await page.close();
  });

  it('stops a generation with the stop button, which aborts it on the server', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const before = aborted;
    await page.fill('#input', 'Explain server-sent events in detail');
    await page.click('#send');
    const answer = page.locator('.msg.assistant').last();
    await expect.poll(async () => (await answer.textContent())?.length ?? 0).toBeGreaterThan(20);
    await page.click('#stop');
    await expect.poll(async () => answer.locator('.meta').textContent()).toBe('stopped');
    await expect.poll(() => aborted).toBe(before + 1);
    expect(await page.locator('#send').isDisabled()).toBe(false);
    await page.close();
  });
});
