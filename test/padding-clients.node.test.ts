/**
 * Padding breaks no unchanged client: against a real app on a local port, with `SLUICE_PADDING`
 * on (the default) and then `off`, the `openai` SDK (/v1/chat/completions), the `ai` package's
 * `DefaultChatTransport` + `readUIMessageStream` (/api/chat), `@ag-ui/client`'s `HttpAgent` with
 * every event checked by @ag-ui/core's strict schemas (/v1/ag-ui), sluice's own SSE parser and
 * eventsource-parser (the parser EventSource polyfills use) on /v1/chat and on the resume GET an
 * `EventSource` would make, an NDJSON line reader and a plain `fetch().text()` all read the same
 * answer; and the padding is really on the wire when on (comment lines, `obfuscation`, JSON
 * whitespace, 32-byte text chunks) and absent when off.
 */
import { HttpAgent } from '@ag-ui/client';
import type { BaseEvent } from '@ag-ui/core';
import { EventSchema } from '@ag-ui/core/schemas';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { createParser as createEventSourceParser } from 'eventsource-parser';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createParser } from '../src/sse/parse.ts';
import { startServer, type TestServer } from './helpers/http.ts';

const QUESTION = 'What is backpressure?';

async function start(padding: string, tokensPerSecond = 0): Promise<TestServer> {
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond }) } });
  return startServer(createApp({ models, env: { SLUICE_PADDING: padding } }));
}

function post(url: string, path: string, body: unknown, accept?: string): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(accept === undefined ? {} : { accept }) }, body: JSON.stringify(body) });
}

/** The text of the native SSE answer, read by a parser; also the raw body. */
async function nativeText(body: string, parse: 'sluice' | 'eventsource-parser'): Promise<string> {
  let text = '';
  const onEvent = (event: { event?: string | undefined; data: string }): void => {
    if (event.event === 'text-delta') text += (JSON.parse(event.data) as { delta: string }).delta;
  };
  if (parse === 'sluice') {
    const parser = createParser({ onEvent });
    parser.feed(body);
  } else {
    const parser = createEventSourceParser({ onEvent });
    parser.feed(body);
  }
  return text;
}

interface Reading {
  openai: string;
  openaiRaw: string;
  ui: string;
  agUi: string;
  nativeRaw: string;
  native: string;
  nativeEventSource: string;
  resumed: string;
  ndjsonRaw: string;
  ndjson: string;
  plain: string;
  plainChunks: number[];
}

async function readAll(url: string): Promise<Reading> {
  const client = new OpenAI({ apiKey: 'unused', baseURL: `${url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: QUESTION }], stream: true });
  let openai = '';
  for await (const chunk of stream) openai += chunk.choices[0]?.delta.content ?? '';
  const openaiRaw = await (await post(url, '/v1/chat/completions', { model: 'local', stream: true, messages: [{ role: 'user', content: QUESTION }] })).text();

  const transport = new DefaultChatTransport<UIMessage>({ api: `${url}/api/chat` });
  const uiStream = await transport.sendMessages({
    trigger: 'submit-message',
    chatId: `chat-${Math.random()}`,
    messageId: undefined,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: QUESTION }] }],
    abortSignal: undefined,
  });
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream: uiStream, terminateOnError: true })) last = message;
  const ui = (last?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

  const agent = new HttpAgent({ url: `${url}/v1/ag-ui`, threadId: 'thread-padding', initialMessages: [{ id: 'u1', role: 'user', content: QUESTION }] });
  const events: BaseEvent[] = [];
  await agent.runAgent({ runId: 'run-padding' }, { onEvent: ({ event }) => void events.push(event) });
  for (const event of events) {
    const parsed = EventSchema.safeParse(event);
    if (!parsed.success) throw new Error(`@ag-ui/core rejects ${JSON.stringify(event)}: ${parsed.error.message}`);
  }
  const agUi = events.map((event) => (event.type === 'TEXT_MESSAGE_CONTENT' ? (event as BaseEvent & { delta: string }).delta : '')).join('');

  const native = await post(url, '/v1/chat', { messages: [{ role: 'user', content: QUESTION }] });
  const streamId = native.headers.get('x-stream-id')!;
  const nativeRaw = await native.text();
  // What an EventSource would do after a drop: GET the stream again from the start.
  const resumedRaw = await (await fetch(`${url}/v1/streams/${streamId}`, { headers: { accept: 'text/event-stream', 'last-event-id': '0' } })).text();

  const ndjsonRaw = await (await post(url, '/v1/chat', { messages: [{ role: 'user', content: QUESTION }] }, 'application/x-ndjson')).text();
  const ndjson = ndjsonRaw
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { type: string; delta?: string })
    .map((event) => (event.type === 'text-delta' ? event.delta! : ''))
    .join('');

  const plainResponse = await post(url, '/v1/chat', { messages: [{ role: 'user', content: QUESTION }] }, 'text/plain');
  const plainChunks: number[] = [];
  const decoder = new TextDecoder();
  let plain = '';
  for await (const chunk of plainResponse.body!) {
    plainChunks.push(chunk.byteLength);
    plain += decoder.decode(chunk, { stream: true });
  }
  plain += decoder.decode();

  return {
    openai,
    openaiRaw,
    ui,
    agUi,
    nativeRaw,
    native: await nativeText(nativeRaw, 'sluice'),
    nativeEventSource: await nativeText(nativeRaw, 'eventsource-parser'),
    resumed: await nativeText(resumedRaw, 'eventsource-parser'),
    ndjsonRaw,
    ndjson,
    plain,
    plainChunks,
  };
}

describe('unchanged clients read the same answer with padding on and off', () => {
  let off: Reading;

  it('SLUICE_PADDING=off: every client reads the answer, and no padding is on the wire', async () => {
    const server = await start('off');
    try {
      off = await readAll(server.url);
    } finally {
      await server.close();
    }
    // The gateway (/v1/chat/completions) answers without tools, the agent routes with them: each
    // client is compared with its own route's answer.
    for (const text of [off.openai, off.ui, off.agUi, off.native, off.ndjson, off.plain]) expect(text).toMatch(/backpressure/i);
    for (const text of [off.nativeEventSource, off.resumed]) expect(text).toBe(off.native);
    expect(off.nativeRaw).not.toMatch(/^: /m);
    expect(off.openaiRaw).not.toContain('"obfuscation"');
    expect(off.ndjsonRaw).not.toMatch(/[ \t]\n/);
  });

  it('SLUICE_PADDING on (the default): each client reads exactly the same text, with the padding on the wire', async () => {
    const server = await start('');
    let on: Reading;
    try {
      on = await readAll(server.url);
    } finally {
      await server.close();
    }
    expect(on.native).toBe(off.native);
    expect(on.openai).toBe(off.openai);
    expect(on.ui).toBe(off.ui);
    expect(on.agUi).toBe(off.agUi);
    expect(on.nativeEventSource).toBe(off.native);
    expect(on.resumed).toBe(off.native);
    expect(on.ndjson).toBe(off.ndjson);
    expect(on.plain).toBe(off.plain);

    // The padding is there: a comment line in each text-delta frame, `obfuscation` on OpenAI's
    // content chunks, whitespace after NDJSON's delta lines.
    const deltaFrames = on.nativeRaw.split('\n\n').filter((frame) => frame.startsWith('event: text-delta'));
    expect(deltaFrames.length).toBeGreaterThan(10);
    for (const frame of deltaFrames) expect(frame).toMatch(/\n: [A-Za-z0-9_-]+$/);
    const contentChunks = on.openaiRaw.split('\n\n').filter((frame) => frame.includes('"content":"') && !frame.includes('"role"'));
    for (const frame of contentChunks) expect(frame).toMatch(/"obfuscation":"[A-Za-z0-9_-]+"\}$/);
    for (const line of on.ndjsonRaw.split('\n').filter((l) => l.includes('"text-delta"'))) expect(line).toMatch(/\}[ \t]+$/);
  });

  it('plain text reaches the client in 32-byte chunks with padding on, token by token with it off (paced model)', async () => {
    const chunkSizes = async (padding: string): Promise<number[]> => {
      const server = await start(padding, 400);
      try {
        const response = await post(server.url, '/v1/chat', { messages: [{ role: 'user', content: QUESTION }] }, 'text/plain');
        const sizes: number[] = [];
        for await (const chunk of response.body!) sizes.push(chunk.byteLength);
        return sizes;
      } finally {
        await server.close();
      }
    };
    const ragged = (sizes: number[]): number => sizes.filter((size) => size % 32 !== 0).length;
    const on = await chunkSizes('on');
    const offSizes = await chunkSizes('off');
    expect(on.length).toBeGreaterThan(5);
    // Only each text block's remainder (a few blocks per answer) is not a whole number of chunks.
    expect(ragged(on)).toBeLessThanOrEqual(4);
    expect(ragged(offSizes)).toBeGreaterThan(4);
  });
});
