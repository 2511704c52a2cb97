/**
 * The web page at `GET /` in a real browser (Debian's Chromium through playwright-core), against
 * the real app with the local model paced like a real one: the answer grows with Markdown
 * rendered while it streams, one generation at a time, the stop button stops the model, a reload
 * mid-answer resumes without a second POST, a `javascript:` source is never a link, the page asks
 * for an API key on 401, and says it is reconnecting, then that it gave up, when the server goes.
 * Where the app does not serve `GET`/`DELETE /v1/streams/:id` yet, a stand-in proxies the real
 * `POST /v1/chat` (test/helpers/browser.ts). Screenshots go to test-results/.
 */
import type { RequestListener } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { chromiumAvailable, collectErrors, ensureWebBuild, hasStreamRoutes, launchBrowser, waitUntil, withFakeStreamRoutes } from './helpers/browser.ts';
import { deferred, startServer, type TestServer } from './helpers/http.ts';

const available = chromiumAvailable('web-page tests');
const servers: TestServer[] = [];
let browser: Browser;
let url: string;

/** Starts `app` for the browser, behind the stream-route stand-in when the app has no such routes. */
async function serveForBrowser(app: RequestListener): Promise<string> {
  const real = await startServer(app);
  servers.push(real);
  if (await hasStreamRoutes(real.url)) return real.url;
  const front = await startServer(withFakeStreamRoutes(app, () => real.url));
  servers.push(front);
  return front.url;
}

/** Stops the servers {@link serveForBrowser} started last (the app, and its stand-in if any). */
async function stopLastServers(at: string): Promise<void> {
  const index = servers.findIndex((server) => server.url === at);
  const first = index > 0 && servers[index - 1] !== undefined && index === servers.length - 1 && servers.length > 1 ? index - 1 : index;
  for (const server of servers.splice(first)) await server.close();
}

/** A page with its POSTs to /v1/chat and its other requests counted, and its errors collected. */
async function openPage(at = url): Promise<{ page: Page; posts: () => number; requests: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const errors = collectErrors(page);
  const requests: string[] = [];
  page.on('request', (request) => {
    const lastEventId = request.headers()['last-event-id'];
    requests.push(`${request.method()} ${new URL(request.url()).pathname}${lastEventId === undefined ? '' : ` last-event-id=${lastEventId}`}`);
  });
  await page.goto(at);
  return { page, posts: () => requests.filter((line) => line === 'POST /v1/chat').length, requests, errors };
}

/** What the last answer shows now. */
async function answerState(page: Page): Promise<{ length: number; markdown: boolean; end: string | null }> {
  return page.evaluate(() => {
    const answers = document.querySelectorAll<HTMLElement>('.msg.assistant');
    const answer = answers[answers.length - 1];
    if (answer === undefined) return { length: 0, markdown: false, end: null };
    const text = answer.querySelector('.markdown')?.textContent ?? '';
    return { length: text.length, markdown: answer.querySelector('.markdown strong, .markdown code, .markdown li') !== null, end: answer.dataset.end ?? null };
  });
}

async function ask(page: Page, question: string): Promise<void> {
  await page.fill('#input', question);
  await page.press('#input', 'Enter');
}

beforeAll(async () => {
  if (!available) return;
  // The local model paced like a real one: the answer takes a few seconds to stream.
  vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '100');
  vi.stubEnv('SLUICE_LOCAL_TPS', '40');
  await ensureWebBuild();
  url = await serveForBrowser(createApp({ onError: () => {} }));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers.splice(0)) await server.close();
  vi.unstubAllEnvs();
});

describe.skipIf(!available)('the web page', () => {
  it('shows the answer growing with Markdown rendered while it streams, and Enter mid-answer starts no second generation', async () => {
    const { page, posts, errors } = await openPage();
    await ask(page, 'What is backpressure?');
    const lengths = new Set<number>();
    let markdownWhileStreaming = false;
    let triedSecond = false;
    await waitUntil(async () => {
      const state = await answerState(page);
      if (state.end !== null) return true;
      if (state.length > 0) lengths.add(state.length);
      if (state.markdown) markdownWhileStreaming = true;
      if (!triedSecond && state.length > 0) {
        // Mid-answer: a second question with Enter must not start another generation.
        triedSecond = true;
        await page.fill('#input', 'A second question');
        await page.press('#input', 'Enter');
      }
      return false;
    }, 'the answer did not finish', 30_000);
    expect((await answerState(page)).end).toBe('finish');
    expect(lengths.size, `the answer was seen at ${lengths.size} lengths before it ended`).toBeGreaterThanOrEqual(3);
    expect(markdownWhileStreaming, 'Markdown (strong, code or a list) was rendered before the answer ended').toBe(true);
    expect(triedSecond).toBe(true);
    expect(posts()).toBe(1);
    expect(await page.locator('.msg.user').count()).toBe(1);
    expect(await page.inputValue('#input')).toBe('A second question');
    await page.screenshot({ path: 'test-results/web-page-answer.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('stops the model with the stop button: DELETE /v1/streams/:id, then the answer shows it stopped', async () => {
    const { page, requests, errors } = await openPage();
    await ask(page, 'Explain server-sent events in detail');
    await waitUntil(async () => (await answerState(page)).length > 20, 'no text arrived before the stop');
    await page.click('#stop');
    await waitUntil(async () => (await answerState(page)).end === 'abort', 'the answer never showed the abort', 10_000);
    expect(requests.some((line) => /^DELETE \/v1\/streams\/[^/]+$/.test(line))).toBe(true);
    await expect.poll(() => page.locator('.msg.assistant .note').last().textContent()).toBe('stopped (by you)');
    // The generation stopped on the server, not only in the page.
    await expect
      .poll(async () => /^sluice_active_streams (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1], { timeout: 10_000 })
      .toBe('0');
    expect(await page.isVisible('#send')).toBe(true);
    await page.screenshot({ path: 'test-results/web-page-stopped.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('after a reload mid-answer, the conversation comes back and the answer continues to its end, with no second POST', async () => {
    const { page, posts, requests, errors } = await openPage();
    await ask(page, 'Explain resumable streams in detail');
    await waitUntil(async () => (await answerState(page)).length > 30, 'no text arrived before the reload');
    const before = await answerState(page);
    expect(before.end).toBeNull();
    await page.reload();
    await waitUntil(async () => (await answerState(page)).end, 'the resumed answer did not end', 30_000);
    const after = await answerState(page);
    expect(after.end).toBe('finish');
    expect(after.length).toBeGreaterThan(before.length);
    expect(await page.locator('.msg.user').textContent()).toContain('Explain resumable streams in detail');
    expect(posts()).toBe(1);
    // Nothing is shown twice: the resume asks for the events after the last one the page had shown
    // (the server replays exactly those: test/streams-memory.node.test.ts).
    const resumes = requests.filter((line) => /^GET \/v1\/streams\/[^/ ]+/.test(line));
    expect(resumes.length).toBeGreaterThan(0);
    expect(Number(/last-event-id=(\d+)/.exec(resumes[0]!)?.[1])).toBeGreaterThan(0);
    await page.screenshot({ path: 'test-results/web-page-resumed.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe.skipIf(!available)('the web page against hostile and failing servers', () => {
  it('never makes a javascript: source or model HTML clickable (XSS)', async () => {
    const hostile: Provider = async function* () {
      const events: AgentEvent[] = [
        { type: 'source', id: 'evil', title: 'Evil source', url: 'javascript:alert(document.domain)' },
        { type: 'source', id: 'data', title: 'Data source', url: 'data:text/html,<script>alert(1)</script>' },
        { type: 'source', id: 'good', title: 'Good source', url: 'https://example.com/doc' },
        { type: 'text-start', id: 't' },
        { type: 'text-delta', id: 't', delta: 'See [this](javascript:alert(1)) and <img src="/favicon.svg" onerror="window.__xss=1"> <a href="javascript:alert(2)">that</a> **bold**.' },
        { type: 'text-end', id: 't' },
        { type: 'finish', finishReason: 'stop' },
      ];
      yield* events;
    };
    const at = await serveForBrowser(createApp({ onError: () => {}, models: createModelRegistry({ env: {}, providers: { local: hostile } }) }));
    const { page, errors } = await openPage(at);
    await ask(page, 'search the docs');
    await waitUntil(async () => (await answerState(page)).end, 'the answer did not end');
    const answer = page.locator('.msg.assistant').last();
    expect(await answer.locator('.source').count()).toBe(3);
    expect(await answer.locator('.sources').textContent()).toContain('Evil source');
    expect(await page.locator('a[href^="javascript:" i], a[href^="data:" i]').count()).toBe(0);
    expect(await answer.locator('.sources a').getAttribute('href')).toBe('https://example.com/doc');
    expect(await page.locator('[onerror]').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await answer.locator('.markdown strong').textContent()).toBe('bold');
    // Chromium's CSP also refuses the handler inside DOMPurify's inert parse of the hostile HTML.
    expect(errors.filter((error) => !/inline event handler violates the following Content Security Policy/.test(error))).toEqual([]);
    await page.close();
  });

  it('shows a card per tool call with its input growing, then its progress, sources as they arrive, and its result', async () => {
    const gates = [deferred(), deferred()];
    const scripted: Provider = async function* (request) {
      // After the tool ran (a second step, once the agent loop runs tools): just answer.
      if (request.messages.some((message) => message.role !== 'user')) {
        yield* [{ type: 'text-start', id: 'a' }, { type: 'text-delta', id: 'a', delta: 'Done.' }, { type: 'text-end', id: 'a' }, { type: 'finish', finishReason: 'stop' }] satisfies AgentEvent[];
        return;
      }
      yield { type: 'tool-call-start', toolCallId: 'c1', toolName: 'search_docs' };
      yield { type: 'tool-call-delta', toolCallId: 'c1', delta: '{"query":"back' };
      await gates[0]?.promise;
      yield { type: 'tool-call-delta', toolCallId: 'c1', delta: 'pressure"}' };
      yield { type: 'tool-call', toolCallId: 'c1', toolName: 'search_docs', input: { query: 'backpressure' } };
      yield { type: 'progress', toolCallId: 'c1', done: 1, total: 2 } as AgentEvent;
      yield { type: 'source', toolCallId: 'c1', id: 's1', title: 'Backpressure', url: 'https://example.com/backpressure', snippet: 'pull, do not push' } as AgentEvent;
      await gates[1]?.promise;
      yield { type: 'progress', toolCallId: 'c1', done: 2, total: 2 } as AgentEvent;
      yield { type: 'tool-result', toolCallId: 'c1', toolName: 'search_docs', output: { hits: 1 } };
      yield* [{ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'It is **flow control**.' }, { type: 'text-end', id: 't' }, { type: 'finish', finishReason: 'stop' }] satisfies AgentEvent[];
    };
    const at = await serveForBrowser(createApp({ onError: () => {}, models: createModelRegistry({ env: {}, providers: { local: scripted } }) }));
    const { page, errors } = await openPage(at);
    await ask(page, 'search the docs for backpressure');
    const card = page.locator('.msg.assistant .tool-card').first();
    await waitUntil(async () => (await card.locator('.tool-input').textContent().catch(() => '')) === '{"query":"back', 'the tool card did not show the first input fragment');
    expect(await card.locator('summary').textContent()).toContain('search_docs');
    gates[0]?.resolve();
    await page.waitForSelector('.msg.assistant .sources li a[href="https://example.com/backpressure"]', { timeout: 10_000 });
    expect(await card.locator('.tool-input').textContent()).toContain('"backpressure"');
    expect(await card.locator('progress').evaluate((bar) => (bar as HTMLProgressElement).value)).toBe(1);
    expect(await page.$eval('.msg.assistant', (answer) => (answer as HTMLElement).dataset.end ?? null)).toBeNull();
    await page.screenshot({ path: 'test-results/web-page-tool-running.png', fullPage: true });
    gates[1]?.resolve();
    await waitUntil(async () => (await answerState(page)).end, 'the answer did not end');
    expect(await card.getAttribute('data-state')).toBe('done');
    expect(await card.locator('progress').evaluate((bar) => (bar as HTMLProgressElement).value)).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a stop in the middle of a code span leaves no stray backtick: the partial Markdown is rendered as if closed', async () => {
    const cut: Provider = async function* (_request, options) {
      yield { type: 'text-start', id: 't' };
      yield { type: 'text-delta', id: 't', delta: 'Call **`createSse' };
      // The model goes quiet mid-span until the stop button aborts it.
      await new Promise<void>((resolve) => {
        if (options?.signal?.aborted === true) resolve();
        options?.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    };
    const at = await serveForBrowser(createApp({ onError: () => {}, models: createModelRegistry({ env: {}, providers: { local: cut } }) }));
    const { page, errors } = await openPage(at);
    await ask(page, 'a cut answer');
    await page.waitForSelector('.msg.assistant .markdown code', { timeout: 10_000 });
    await page.click('#stop');
    await waitUntil(async () => (await answerState(page)).end === 'abort', 'the answer never showed the abort', 10_000);
    expect((await page.locator('.msg.assistant .markdown').textContent())?.trim()).toBe('Call createSse');
    expect(await page.locator('.msg.assistant .markdown strong code').textContent()).toBe('createSse');
    expect(await page.locator('.msg.assistant .note').last().textContent()).toBe('stopped (by you)');
    expect(errors).toEqual([]);
    await page.close();
    await stopLastServers(at);
  });

  it('after producer_lost, a tool card still preparing shows interrupted, and Regenerate asks the last question again', async () => {
    const app = createApp({ onError: () => {} });
    let chats = 0;
    // The first answer is lost mid tool call, as when its instance died and no takeover could go on;
    // the real app answers the regenerated one.
    const lost: RequestListener = (req, res) => {
      if (req.method !== 'POST' || req.url !== '/v1/chat' || chats++ > 0) return app(req, res);
      req.resume();
      req.on('end', () => {
        const events = [
          { type: 'tool-call-start', toolCallId: 'c1', toolName: 'search_docs' },
          { type: 'tool-call-delta', toolCallId: 'c1', delta: '{"query":"ba' },
          { type: 'error', code: 'producer_lost', message: 'The instance producing this answer was lost.', retryable: false },
        ];
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.end(events.map((event, index) => `id: ${index + 1}\ndata: ${JSON.stringify(event)}\n\n`).join(''));
      });
    };
    const at = await serveForBrowser(lost);
    const { page, errors } = await openPage(at);
    const posts: { messages: { role: string; content: string }[] }[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/chat') posts.push(request.postDataJSON() as (typeof posts)[number]);
    });
    await ask(page, 'What is 17*23?');
    await waitUntil(async () => (await answerState(page)).end === 'error', 'the answer never showed the error', 10_000);
    const card = page.locator('.msg.assistant .tool-card').first();
    expect(await card.getAttribute('data-state')).toBe('interrupted');
    expect(await card.locator('.tool-state').textContent()).toBe('interrupted');
    expect(await page.locator('.msg.assistant .note.error').textContent()).toContain('producer_lost');
    await page.click('.msg.assistant button.regenerate');
    await waitUntil(async () => (await answerState(page)).end === 'finish', 'the regenerated answer did not finish', 30_000);
    // The same question again, without the lost answer, and one question and one answer shown.
    expect(posts).toHaveLength(2);
    expect(posts[1]?.messages).toEqual([{ role: 'user', content: 'What is 17*23?' }]);
    expect(await page.locator('.msg.user').count()).toBe(1);
    expect(await page.locator('.msg.assistant').count()).toBe(1);
    expect(await page.locator('.msg.assistant').textContent()).toContain('391');
    expect(await page.locator('button.regenerate').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
    await stopLastServers(at);
  });

  it('gives the local model’s demo notice in the first answer of a conversation only', { timeout: 60_000 }, async () => {
    const { page, errors } = await openPage();
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    for (const question of ['What is 17*23?', 'What is backpressure?']) {
      const before = await page.locator('.msg.assistant').count();
      await ask(page, question);
      await waitUntil(async () => (await page.locator('.msg.assistant').count()) > before && (await answerState(page)).end === 'finish', `no answer to ${question}`, 30_000);
    }
    const answers = await page.locator('.msg.assistant').allTextContents();
    expect(answers).toHaveLength(2);
    expect(answers.filter((answer) => answer.includes('built-in local demo model'))).toHaveLength(1);
    expect(answers.at(-1)).not.toContain('built-in local demo model');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('renders finished Markdown blocks once: the first paragraph stays the same element while 200 more stream in', async () => {
    const gate = deferred();
    const long: Provider = async function* () {
      yield { type: 'text-start', id: 't' };
      yield { type: 'text-delta', id: 't', delta: 'First **paragraph**.\n\nSecond paragraph.\n\n' };
      await gate.promise;
      for (let index = 0; index < 200; index++) {
        yield { type: 'text-delta', id: 't', delta: `Paragraph ${index} with \`code\` ` };
        yield { type: 'text-delta', id: 't', delta: 'and more.\n\n' };
      }
      yield { type: 'text-delta', id: 't', delta: '```\nfenced\n\nblock\n```\n\nThe end.' };
      yield { type: 'text-end', id: 't' };
      yield { type: 'finish', finishReason: 'stop' };
    };
    const at = await serveForBrowser(createApp({ onError: () => {}, models: createModelRegistry({ env: {}, providers: { local: long } }) }));
    const { page, errors } = await openPage(at);
    await page.emulateMedia({ colorScheme: 'dark' });
    await ask(page, 'a long answer');
    await page.waitForSelector('.msg.assistant .markdown strong', { timeout: 10_000 });
    // Mark the first paragraph's element; a re-render would replace it with a new one.
    await page.$eval('.msg.assistant .markdown p', (paragraph) => paragraph.setAttribute('data-first', ''));
    gate.resolve();
    await waitUntil(async () => (await answerState(page)).end, 'the long answer did not end');
    expect(await page.$eval('.msg.assistant .markdown p', (paragraph) => paragraph.hasAttribute('data-first'))).toBe(true);
    expect(await page.locator('.msg.assistant .markdown p').count()).toBe(203);
    // A blank line inside a code fence does not split the block.
    expect(await page.locator('.msg.assistant .markdown pre code').textContent()).toBe('fenced\n\nblock\n');
    // Dark mode: the page follows prefers-color-scheme.
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(17, 20, 24)');
    await page.screenshot({ path: 'test-results/web-page-dark.png' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('auto-scrolls with the answer, and stops following once the user scrolls up', async () => {
    const gates = [deferred(), deferred()];
    const paragraphs = (from: number): AgentEvent[] => Array.from({ length: 40 }, (_, index) => ({ type: 'text-delta', id: 't', delta: `Paragraph ${from + index}.\n\n` }));
    const long: Provider = async function* () {
      yield { type: 'text-start', id: 't' };
      yield* paragraphs(0);
      await gates[0]?.promise;
      yield* paragraphs(40);
      await gates[1]?.promise;
      yield { type: 'text-end', id: 't' };
      yield { type: 'finish', finishReason: 'stop' };
    };
    const at = await serveForBrowser(createApp({ onError: () => {}, models: createModelRegistry({ env: {}, providers: { local: long } }) }));
    const { page, errors } = await openPage(at);
    const distanceFromBottom = (): Promise<number> => page.evaluate(() => document.documentElement.scrollHeight - window.scrollY - window.innerHeight);
    await ask(page, 'a long answer');
    await waitUntil(async () => (await page.locator('.msg.assistant .markdown p').count()) >= 40 || undefined, 'the first paragraphs did not arrive');
    await waitUntil(async () => (await distanceFromBottom()) < 80 || undefined, 'the page did not follow the answer to the bottom');
    // The user scrolls up to read; the answer goes on growing below.
    await page.mouse.move(400, 300);
    await page.mouse.wheel(0, -600);
    await waitUntil(async () => (await distanceFromBottom()) > 300 || undefined, 'the wheel did not scroll up');
    const readingAt = await page.evaluate(() => window.scrollY);
    gates[0]?.resolve();
    await waitUntil(async () => (await page.locator('.msg.assistant .markdown p').count()) >= 80 || undefined, 'the next paragraphs did not arrive');
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    expect(await page.evaluate(() => window.scrollY)).toBe(readingAt);
    gates[1]?.resolve();
    await waitUntil(async () => (await answerState(page)).end, 'the answer did not end');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for an API key when the server answers 401, then sends it as a Bearer token', async () => {
    const app = createApp({ onError: () => {} });
    const seen: (string | undefined)[] = [];
    // The auth check of SLUICE_API_KEYS, in front of the app.
    const guarded: RequestListener = (req, res) => {
      if (/^\/(v1|api)\//.test(req.url ?? '')) {
        seen.push(req.headers.authorization);
        if (req.headers.authorization !== 'Bearer key-1') {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'unauthorized', message: 'An API key is required.' } }));
          return;
        }
      }
      app(req, res);
    };
    const at = await serveForBrowser(guarded);
    const { page } = await openPage(at);
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 10_000 });
    await ask(page, 'What is SSE?');
    // Not sent for real: the question comes back to the input, waiting for the key.
    await waitUntil(async () => (await page.inputValue('#input')) === 'What is SSE?' || undefined, 'the question did not come back after the 401');
    await page.fill('#key-input', 'key-1');
    await page.press('#key-input', 'Enter');
    await page.press('#input', 'Enter');
    await waitUntil(async () => (await answerState(page)).end, 'the answer with the key did not end', 30_000);
    expect((await answerState(page)).end).toBe('finish');
    expect(seen).toContain('Bearer key-1');
    expect(await page.isHidden('#key-form')).toBe(true);
    await page.close();
  });

  it('says it is reconnecting when the server goes away, then that it gave up', { timeout: 60_000 }, async () => {
    const app = createApp({ onError: () => {} });
    const at = await serveForBrowser(app);
    const { page } = await openPage(at);
    await ask(page, 'Explain server-sent events in detail');
    await waitUntil(async () => (await answerState(page)).length > 10, 'no text arrived');
    // The server goes away: every server of this app closes its connections and stops listening.
    await stopLastServers(at);
    await page.waitForSelector('#status:has-text("reconnecting")', { timeout: 10_000 });
    await page.waitForSelector('#status:has-text("Gave up")', { timeout: 30_000 });
    await page.screenshot({ path: 'test-results/web-page-gave-up.png', fullPage: true });
    await page.close();
  });
});
