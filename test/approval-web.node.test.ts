/**
 * The page's approval card in Chromium, tabs on one conversation: the question that makes the
 * local model call `publish_event` shows the card with Approve / Deny in every tab (one open
 * before the question follows it, one opened later resumes it from the saved conversation);
 * Approve in one; all show the tool's result and the answer; the published event appears in the
 * first tab's push panel.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { chromiumAvailable, collectErrors, ensureWebBuild, launchBrowser } from './helpers/browser.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const available = chromiumAvailable('approval web tests');
let browser: Browser;
let app: AppHandler;
let server: TestServer;

beforeAll(async () => {
  if (!available) return;
  vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '20');
  vi.stubEnv('SLUICE_LOCAL_TPS', '200');
  await ensureWebBuild();
  app = createApp({ onError: () => {} });
  server = await startServer(app);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.shutdown({ drainMs: 0 });
  await server?.close();
  vi.unstubAllEnvs();
});

async function open(context: BrowserContext, hash: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors = collectErrors(page, [/Failed to load resource: the server responded with a status of 404/]);
  await page.goto(`${server.url}/${hash}`);
  return { page, errors };
}

const CARD = '.tool-card[data-state=approval] .approval button:has-text("Approve")';

describe.skipIf(!available)('the approval card', () => {
  it('shows in every tab (one open before the question, one opened later); Approve in one; all show the result; the event reaches the push panel', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    const topic = `page-${crypto.randomUUID().slice(0, 8)}`;
    const first = await open(context, '#streams');
    await first.page.waitForSelector('#view-streams:not([hidden])', { timeout: 10_000 });
    await first.page.fill('#push .row input', topic);
    await first.page.click('#push .row button');
    await first.page.waitForSelector('#push [role=status]:has-text("Subscribed")', { timeout: 10_000 });

    // A second tab of the same conversation, open before the question is asked: it follows the
    // answer the first tab starts (the conversation's storage event) and shows the same card.
    const second = await open(context, '#chat');
    await second.page.waitForSelector('#view-chat:not([hidden])', { timeout: 10_000 });
    await first.page.click('#tab-chat');
    await first.page.fill('#input', `Publish "launch at noon" on topic ${topic}`);
    await first.page.click('#send');
    await first.page.waitForSelector(CARD, { timeout: 15_000 });
    expect(await first.page.textContent('.tool-card[data-state=approval] .tool-input')).toContain(topic);
    await second.page.waitForSelector(CARD, { timeout: 15_000 });
    expect(await second.page.textContent('.msg.user')).toContain('launch at noon');
    // A third tab opened now resumes the waiting stream from the saved conversation.
    const third = await open(context, '#chat');
    await third.page.waitForSelector(CARD, { timeout: 15_000 });
    await second.page.click(CARD);

    for (const { page } of [first, second, third]) {
      await page.waitForSelector('.tool-card[data-state=done] .approval[data-decision=approved]', { state: 'attached', timeout: 15_000 });
      await page.waitForSelector('.msg.assistant[data-end=finish]', { timeout: 15_000 });
      const output = JSON.parse((await page.textContent('.tool-card[data-state=done] .tool-output')) ?? '{}') as { id?: string };
      expect(output.id).toMatch(/.+/);
      expect(await page.textContent('.msg.assistant[data-end=finish]')).toContain(`Approved and published: the event's id is ${output.id}`);
      expect(await page.isVisible(CARD)).toBe(false);
    }
    await first.page.screenshot({ path: 'test-results/approval-web-first-tab.png', fullPage: true });

    await first.page.click('#tab-streams');
    await first.page.waitForSelector(`#push li:has-text('message: {"text":"launch at noon"}')`, { timeout: 10_000 });
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    expect(third.errors).toEqual([]);
    await context.close();
  });

  it('Deny: the card says denied and the answer says nothing was published', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    const { page, errors } = await open(context, '#chat');
    await page.fill('#input', 'Announce on topic page-deny that lunch is ready');
    await page.click('#send');
    await page.waitForSelector(CARD, { timeout: 15_000 });
    await page.click('.tool-card[data-state=approval] .approval button:has-text("Deny")');
    await page.waitForSelector('.tool-card[data-state=denied] .approval[data-decision=denied]', { state: 'attached', timeout: 15_000 });
    await page.waitForSelector('.msg.assistant[data-end=finish]', { timeout: 15_000 });
    expect(await page.textContent('.msg.assistant[data-end=finish]')).toContain('nothing was published');
    expect(errors).toEqual([]);
    await context.close();
  });
});
