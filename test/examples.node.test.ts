/**
 * The examples run with one command each (`node examples/NN-*.ts`, what `npm run example:*`
 * does) and answer as their headers say; `npm start` serves /demo/numbers progressively.
 * They import the built package ('sluice', 'sluice/node'), which `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
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
