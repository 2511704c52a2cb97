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
