/**
 * The examples run with one command each (`node examples/NN-*.ts`, what `npm run example:*`
 * does) and answer as their headers say; `npm start` serves /demo/numbers progressively.
 * They import the built package ('sluice', 'sluice/node'), which `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createParser } from '../src/sse/parse.ts';
import type { SseEvent } from '../src/sse/types.ts';
import { get, readBody } from './helpers/http.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  child?.kill();
  child = undefined;
});

/** Starts a script with PORT=0 and resolves with the base URL it prints. */
function launch(args: string[]): Promise<string> {
  child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  return new Promise((resolve, reject) => {
    let output = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const port = /localhost:(\d+)/.exec(output)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    });
    child!.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${errors}`)));
  });
}

/** Reads a body and the arrival time of each line. */
async function timedLines(url: string): Promise<{ line: string; at: number }[]> {
  const res = await get(url);
  expect(res.statusCode).toBe(200);
  const lines: { line: string; at: number }[] = [];
  let buffer = '';
  res.setEncoding('utf8');
  for await (const chunk of res) {
    buffer += chunk as string;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      lines.push({ line: buffer.slice(0, newline), at: performance.now() });
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  }
  return lines;
}

describe('npm start (sluice serve)', () => {
  it('answers /demo/numbers progressively, one 数字 line per interval', async () => {
    const base = await launch(['dist/cli/sluice.js', 'serve']);
    const lines = await timedLines(`${base}/demo/numbers?count=5&interval_ms=100`);
    expect(lines.map((l) => l.line)).toEqual(['数字: 0', '数字: 1', '数字: 2', '数字: 3', '数字: 4']);
    // Progressive: the lines arrive about 100 ms apart, not all at once at the end.
    expect(lines[4]!.at - lines[0]!.at).toBeGreaterThanOrEqual(300);
    const health = await get(`${base}/healthz`);
    expect(JSON.parse(await readBody(health))).toEqual({ status: 'ok' });
  });
});

describe('examples/01-numbers.ts', () => {
  it('streams ten numbers as text, progressively', async () => {
    const base = await launch(['examples/01-numbers.ts']);
    const lines = await timedLines(`${base}/stream`);
    expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 10 }, (_, i) => `数字: ${i}`));
    expect(lines[9]!.at - lines[0]!.at).toBeGreaterThanOrEqual(4000);
  });
});

describe('examples/02-sources.ts', () => {
  it('serves every source kind and format', async () => {
    const base = await launch(['examples/02-sources.ts']);
    const body = async (path: string): Promise<string> => readBody(await get(`${base}${path}`));
    expect(await body('/array')).toBe('an array of strings\n');
    expect(await body('/generator')).toBe('sync\ngenerators\nwork\ntoo\n');
    expect(await body('/async-generator')).toBe('tokens\narrive\none\nby\none\n');
    expect(await body('/readable-stream')).toBe('web stream chunk 0\nweb stream chunk 1\nweb stream chunk 2\n');
    expect(await body('/node-readable')).toContain('Every kind of source sluice streams');
    expect(await body('/function')).toBe('a function (signal) => source\nsignal aborted: false\n');
    expect(await body('/ndjson')).toBe(
      '{"progress":{"done":1,"total":3}}\n{"progress":{"done":2,"total":3}}\n{"progress":{"done":3,"total":3}}\n',
    );
    expect(await body('/sse')).toBe(
      'event: tick\nid: 1\ndata: {"i":1}\n\nevent: tick\nid: 2\ndata: {"i":2}\n\nevent: tick\nid: 3\ndata: {"i":3}\n\n',
    );
    expect(await body('/web')).toBe('tokens\narrive\none\nby\none\n');
  });
});

/** Reads a whole response with fetch. */
async function fetchText(url: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe('examples/03-openai-anthropic.ts', () => {
  it('streams OpenAI and Anthropic text through the official SDKs and through sluice providers (replayed, no key)', async () => {
    const base = await launch(['examples/03-openai-anthropic.ts']);
    const openai = await fetchText(`${base}/chat/openai?prompt=hi`, { method: 'POST' });
    const anthropic = await fetchText(`${base}/chat/anthropic?prompt=hi`, { method: 'POST' });
    expect(openai.status).toBe(200);
    expect(openai.text.length).toBeGreaterThan(20);
    expect(anthropic.status).toBe(200);
    expect(anthropic.text.length).toBeGreaterThan(20);
    const events = await fetchText(`${base}/events/anthropic?prompt=hi`, { method: 'POST' });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const deltas = [...events.text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { type: string; delta?: string });
    expect(deltas.filter((e) => e.type === 'text-delta').map((e) => e.delta).join('')).toBe(anthropic.text);
    expect(deltas.at(-1)!.type).toBe('finish');
  });
});

describe('examples/04-sse.ts', () => {
  it('serves the same ticks by hand and with sluice, and the page that reads them', async () => {
    const base = await launch(['examples/04-sse.ts']);
    const hand = await fetchText(`${base}/hand`);
    expect(hand.text).toContain('event: tick\nid: 1\ndata: {"i":1,"text":"line 1"}\n\n');
    expect(hand.text).toContain('event: done');
    const viaSluice = await fetchText(`${base}/sluice`, { headers: { 'last-event-id': '5' } });
    expect(viaSluice.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(viaSluice.text).toContain('event: tick\nid: 6\ndata: line 6\ndata: with a second line\n\n');
    expect(viaSluice.text).toContain('event: done');
    expect((await fetchText(`${base}/`)).text).toContain('<script type="module" src="/page.js">');
  });
});

describe('examples/05-errors.ts', () => {
  it('gives a status before the first byte and the format’s error signal after it', async () => {
    const base = await launch(['examples/05-errors.ts']);
    const before = await fetchText(`${base}/before`);
    expect(before.status).toBe(429);
    expect(JSON.parse(before.text)).toEqual({ error: { code: 'rate_limited', message: 'Too many requests: try again in 10 seconds.' } });
    const afterSse = await fetchText(`${base}/after-sse`);
    expect(afterSse.status).toBe(200);
    expect(afterSse.text).toMatch(/event: token\ndata: first\n\n[\s\S]*event: error\ndata: \{"code":"internal_error"/);
    expect(afterSse.text).not.toContain('went away');
    const afterNdjson = await fetchText(`${base}/after-ndjson`);
    expect(afterNdjson.text.trim().split('\n').map((l) => Object.keys(JSON.parse(l) as object)[0])).toEqual(['token', 'token', 'error']);
    await expect(readBody(await get(`${base}/after-text`))).rejects.toThrow();
  });
});

describe('examples/08-progress.ts', () => {
  it('streams progress rising to total, intermediate data, then finish', async () => {
    const base = await launch(['examples/08-progress.ts']);
    const body = await fetchText(`${base}/job`, { headers: { accept: 'application/x-ndjson' } });
    const events = body.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; done?: number; total?: number });
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.map((e) => e.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(progress.every((e) => e.total === 10)).toBe(true);
    expect(events.filter((e) => e.type === 'data')).toHaveLength(2);
    expect(events.at(-1)!.type).toBe('finish');
  });
});

describe('examples/09-large-file.ts', () => {
  it('serves a 256 MiB file whole, and exact ranges with 206', async () => {
    const base = await launch(['examples/09-large-file.ts']);
    const head = await fetch(`${base}/files/big.bin`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(256 * 1024 * 1024));
    const range = await fetch(`${base}/files/hello.txt`, { headers: { range: 'bytes=0-5' } });
    expect([range.status, await range.text()]).toEqual([206, 'Hello,']);
    const res = await get(`${base}/files/big.bin`);
    let bytes = 0;
    for await (const chunk of res) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(256 * 1024 * 1024);
  });
});

/** Reads SSE events from `url` with sluice's parser until `enough` says so (or the stream ends), then leaves. */
async function readSse(url: string, enough: (events: SseEvent[]) => boolean, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body!) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (enough(events)) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}

/** Agent events of an SSE body, each checked to carry its type as the event name. */
function agentEvents(events: SseEvent[]): { type: string; [key: string]: unknown }[] {
  return events.map((event) => {
    const parsed = JSON.parse(event.data) as { type: string };
    expect(event.event).toBe(parsed.type);
    return parsed;
  });
}

const textOf = (events: { type: string; delta?: unknown }[]): string => events.filter((e) => e.type === 'text-delta').map((e) => e.delta as string).join('');

describe('examples/06-agent-tools.ts', () => {
  beforeAll(() => {
    vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '0');
    vi.stubEnv('SLUICE_LOCAL_TPS', '0');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('streams the calculator call, its result and the answer; the custom tool’s progress; no ids (the events are not from a log)', async () => {
    const base = await launch(['examples/06-agent-tools.ts']);
    const sse = await readSse(`${base}/chat?q=${encodeURIComponent('What is 17*23?')}`, () => false);
    expect(sse.map((event) => event.id)).toEqual(sse.map(() => ''));
    const events = agentEvents(sse);
    const types = events.map((e) => e.type);
    const call = types.indexOf('tool-call');
    const result = types.indexOf('tool-result');
    expect(events[call]).toMatchObject({ toolName: 'calculator', input: { expression: '17*23' } });
    expect(events[result]).toMatchObject({ toolName: 'calculator', output: { value: '391' } });
    expect(call).toBeLessThan(result);
    expect(textOf(events.slice(result + 1))).toContain('391');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });

    const weather = await fetchText(`${base}/chat?q=${encodeURIComponent('What is the weather in Paris?')}`, { headers: { accept: 'application/x-ndjson' } });
    const lines = weather.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; [key: string]: unknown });
    const kinds = lines.map((e) => e.type).filter((type) => ['tool-call', 'progress', 'tool-result', 'finish'].includes(type));
    expect(kinds).toEqual(['tool-call', 'progress', 'progress', 'progress', 'tool-result', 'finish']);
    expect(lines.find((e) => e.type === 'tool-call')).toMatchObject({ toolName: 'get_weather', input: { city: 'Paris' } });
    expect(lines.filter((e) => e.type === 'progress').map((e) => [e.done, e.total])).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(lines.find((e) => e.type === 'tool-result')).toMatchObject({ output: { city: 'Paris', celsius: expect.any(Number) } });
  });
});

describe('examples/07-rag-sources.ts', () => {
  beforeAll(() => {
    vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '0');
    vi.stubEnv('SLUICE_LOCAL_TPS', '0');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('streams each source first, then the answer written from them; the same as NDJSON', async () => {
    const base = await launch(['examples/07-rag-sources.ts']);
    const sse = await readSse(`${base}/rag?q=backpressure`, () => false);
    // Codecs never number events: bare events (not from a store's log) carry no id.
    expect(sse.map((event) => event.id)).toEqual(sse.map(() => ''));
    const events = agentEvents(sse);
    const sources = events.filter((e) => e.type === 'source');
    expect(sources.length).toBeGreaterThan(0);
    expect(sources[0]).toMatchObject({ id: 'en/backpressure', title: 'Backpressure', snippet: expect.any(String) });
    // Every source comes before the model's first word.
    expect(events.slice(0, sources.length).every((e) => e.type === 'source')).toBe(true);
    expect(textOf(events)).toMatch(/backpressure/i);
    expect(events.at(-1)).toMatchObject({ type: 'finish' });

    const ndjson = await fetchText(`${base}/rag?q=backpressure`, { headers: { accept: 'application/x-ndjson' } });
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = ndjson.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((e) => e.type)).toEqual(events.map((e) => e.type));
  });
});

describe('examples/10-event-push.ts', () => {
  beforeAll(() => {
    vi.stubEnv('TICK_MS', '50');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  const ticks = (events: SseEvent[]): SseEvent[] => events.filter((event) => event.event === 'tick');

  it('a subscriber that reconnects with Last-Event-ID gets every tick it missed, in order, then live ones', async () => {
    const base = await launch(['examples/10-event-push.ts']);
    const url = `${base}/events?topic=ticks`;
    const first = ticks(await readSse(url, (events) => ticks(events).length >= 2));
    const lastSeen = Number(first.at(-1)!.id);
    expect(first.map((event) => Number(event.id))).toEqual([lastSeen - 1, lastSeen]);
    // While it is away, the ticker goes on: a fresh subscriber (no Last-Event-ID) starts live, past it.
    const live = ticks(await readSse(url, (events) => ticks(events).some((event) => Number(event.id) > lastSeen + 3)));
    const liveId = Number(live.at(-1)!.id);
    // The reconnect: everything after lastSeen, without a gap, through the live id and on.
    const resumed = ticks(await readSse(url, (events) => ticks(events).some((event) => Number(event.id) >= liveId + 1), { 'last-event-id': String(lastSeen) }));
    const ids = resumed.map((event) => Number(event.id));
    expect(ids).toEqual(ids.map((_, i) => lastSeen + 1 + i));
    expect(ids.at(-1)).toBeGreaterThan(liveId);
    const ns = resumed.map((event) => (JSON.parse(event.data) as { n: number }).n);
    expect(ns).toEqual(ns.map((_, i) => ns[0]! + i));
  });

  it('POST /events publishes on a topic: 202 {id}, and a subscriber gets it under its event name', async () => {
    const base = await launch(['examples/10-event-push.ts']);
    // Last-Event-ID 0: from the start of the topic's history, so it gets the event whenever it attaches.
    const received = readSse(`${base}/events?topic=news`, (events) => events.some((event) => event.event === 'headline'), { 'last-event-id': '0' });
    const published = await fetchText(`${base}/events`, { method: 'POST', body: JSON.stringify({ topic: 'news', event: 'headline', data: { title: 'hi' } }) });
    expect(published.status).toBe(202);
    const { id } = JSON.parse(published.text) as { id: string };
    const headline = (await received).find((event) => event.event === 'headline');
    expect(headline).toEqual({ event: 'headline', id, data: '{"title":"hi"}' });
    const bad = await fetchText(`${base}/events`, { method: 'POST', body: JSON.stringify({ topic: 'news', event: 'a\nb', data: 1 }) });
    expect(bad.status).toBe(400);
  });
});

/** Every example that is a server: the numbered ones and the React example's. */
const SERVERS = [...readdirSync(new URL('../examples/', import.meta.url)).filter((name) => /^\d\d-.*\.ts$/.test(name)).sort().map((name) => `examples/${name}`), 'examples/react-chat/serve.ts'];

describe('an example whose port is taken (another example, `npm start`, one of the README’s instances)', () => {
  it.each(SERVERS)('%s says so in one line on stderr and exits 1, no stack trace', async (file) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = spawn(process.execPath, [file], { cwd: root, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => run.once('close', resolve));
      expect({ code, stderr, listening: stdout.includes('localhost:') }).toEqual({ code: 1, stderr: `port ${port} is in use: set PORT=<n> to pick another\n`, listening: false });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
