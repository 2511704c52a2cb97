/**
 * The page's push panel with API keys on, in Chromium against the real app: the page sends its
 * stored key on the subscription and on publishes, so it subscribes and publishes within its own
 * key's topics; another key's publish under the same topic name never reaches it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { chromiumAvailable, collectErrors, ensureWebBuild, launchBrowser } from './helpers/browser.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const available = chromiumAvailable('safety-web tests');
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  await ensureWebBuild();
  server = await startServer(createApp({ env: {}, apiKeys: ['page-key', 'other-key'], onError: () => {}, onWarn: () => {} }));
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(!available)('the push panel with keys on', () => {
  it('subscribes and publishes with the page\'s key, within that key\'s topics', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    // The video panel's <video src> cannot send a key (a 401 from /v1/files with keys on): not the push panel's concern.
    const errors = collectErrors(page, [/Failed to load resource: the server responded with a status of 40[14]/]);
    await page.addInitScript(() => localStorage.setItem('sluice.apiKey', 'page-key'));
    await page.goto(`${server.url}/#streams`);
    await page.waitForSelector('#view-streams:not([hidden])', { timeout: 10_000 });
    await page.fill('#push .row input', 'web-owned');
    await page.click('#push .row button');
    await page.waitForSelector('#push [role=status]:has-text("Subscribed")', { timeout: 10_000 });
    // Another key publishes under the same name: its own topic, never the page's.
    const intruder = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer other-key' },
      body: JSON.stringify({ topic: 'web-owned', data: 'from another key' }),
    });
    expect(intruder.status).toBe(202);
    await page.fill('#push form input[aria-label="message to publish"]', 'hello with a key');
    await page.click('#push form button');
    await page.waitForSelector('#push li:has-text("message: hello with a key")', { timeout: 10_000 });
    expect(await page.locator('#push li').allTextContents()).toEqual(['message: hello with a key']);
    expect(errors.filter((error) => !error.startsWith('401 GET /v1/files/'))).toEqual([]);
    await page.close();
  }, 60_000);
});
