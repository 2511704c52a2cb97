/**
 * sluice in every runtime the README names, for real: Express 5 and Fastify 5 through the Node
 * path (`sendStream`), Hono on `@hono/node-server` and a Next.js-style route handler through the
 * Web path (`streamingResponse`), and Bun and Deno running the Web path in their own runtime.
 * Each server in `servers/` is a child process importing the built package ('sluice',
 * 'sluice/node'; `npm test` builds first) and streaming `story.ts`, which the test holds through
 * the child's stdin (the gate) and stdout (`finally <id>`, the side channel).
 *
 * For each: the first chunk arrives while the producer still waits for the client to open its
 * gate (progressive streaming); a client disconnect reaches the source's `finally` within 1 s; an
 * error before the first byte gives its status and JSON body.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { get, readBody, within } from '../helpers/http.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const servers = fileURLToPath(new URL('servers/', import.meta.url));
const bin = (name: string): string => `${root}node_modules/.bin/${name}`;

const RUNTIMES: { name: string; command: string; args: string[] }[] = [
  { name: 'Express 5 (Node path)', command: process.execPath, args: [`${servers}express.ts`] },
  { name: 'Fastify 5 (Node path, hijacked reply)', command: process.execPath, args: [`${servers}fastify.ts`] },
  { name: 'Hono on @hono/node-server (Web path)', command: process.execPath, args: [`${servers}hono.ts`] },
  { name: 'Next.js-style route handler (Web path)', command: process.execPath, args: [`${servers}next.ts`] },
  { name: 'Bun.serve (Web path)', command: bin('bun'), args: [`${servers}bun.ts`] },
  // Network for 127.0.0.1 only; no lock file written into the repo.
  // --unstable-no-legacy-abort: request.signal aborts only when the client leaves, not after every
  // successful response too (Deno 2's legacy behaviour, which it warns about on stderr).
  { name: 'Deno.serve (Web path)', command: bin('deno'), args: ['run', '--unstable-no-legacy-abort', '--no-lock', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', `${servers}deno.ts`] },
];

/** A server child process: its stdout lines, and a wait for one of them. */
interface Child {
  process: ChildProcess;
  url: string;
  line(pattern: RegExp): Promise<string>;
  /** What the server printed to stderr so far. */
  stderr(): string;
}

async function launch(command: string, args: string[]): Promise<Child> {
  if (!existsSync(`${root}dist/index.js`)) throw new Error('The runtime servers import the built package: run `npm run build` first.');
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let buffer = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`))));
  exited.catch(() => undefined);
  const line = (pattern: RegExp): Promise<string> =>
    Promise.race([
      exited,
      new Promise<string>((resolve) => {
        const check = (): void => {
          const found = lines.find((candidate) => pattern.test(candidate));
          if (found === undefined) return;
          listeners.delete(check);
          resolve(found);
        };
        listeners.add(check);
        check();
      }),
    ]);
  const listening = await within(line(/^listening \d+$/), 20_000, `${command} did not print "listening <port>" within 20 s: ${stderr}`);
  return { process: child, url: `http://127.0.0.1:${listening.slice('listening '.length)}`, line, stderr: () => stderr };
}

/** Collects a body as it arrives. */
function collect(res: IncomingMessage): { text: () => string } {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.on('error', () => undefined);
  return { text: () => text };
}

describe.each(RUNTIMES)('$name', ({ command, args }) => {
  let child: Child;

  beforeAll(async () => {
    child = await launch(command, args);
  });

  afterAll(async () => {
    if (!child || child.process.exitCode !== null) return;
    const exit = new Promise((resolve) => child.process.once('exit', resolve));
    child.process.kill();
    await exit;
  });

  it('streams progressively: the first chunk arrives while the producer waits for the client', async () => {
    const res = await get(`${child.url}/story?id=p`);
    expect(res.statusCode).toBe(200);
    const body = collect(res);
    await vi.waitFor(() => expect(body.text()).toBe('first p\n'), { timeout: 5_000 });
    // Only now may the producer go on.
    const ended = new Promise((resolve) => res.once('end', resolve));
    child.process.stdin!.write('open p\n');
    await within(ended, 5_000, 'the body did not end after the gate opened');
    expect(body.text()).toBe('first p\nsecond p\n');
    await within(child.line(/^finally p$/), 5_000, 'the source did not finish');
  });

  it("runs the source's finally within 1 s of a client disconnect", async () => {
    const res = await get(`${child.url}/story?id=d`);
    const body = collect(res);
    await vi.waitFor(() => expect(body.text()).toBe('first d\n'), { timeout: 5_000 });
    res.destroy();
    await within(child.line(/^finally d$/), 1_000, "the disconnect did not reach the source's finally within 1 s");
    // An ordinary disconnect is nothing to log: the server printed no error for it, nor for the
    // streams before it (an errored body makes @hono/node-server print the reason; Deno prints a
    // cancelled request's error).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.stderr()).toBe('');
  });

  it('answers an error before the first byte with its status and JSON body', async () => {
    const res = await get(`${child.url}/story?id=e&fail`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(await readBody(res))).toEqual({ error: { code: 'story_unavailable', message: 'Story e is not available.' } });
  });
});
