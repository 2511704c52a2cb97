/**
 * `sluice chat "question"`: text as it arrives, thinking and tool calls marked, exit codes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runChat } from '../src/cli/chat.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { agentEvents, readEvents } from './helpers/sse-events.ts';

function capture(): { out: string[]; err: string[]; io: Parameters<typeof runChat>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, env: {} } };
}

beforeAll(() => {
  vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '0');
  vi.stubEnv('SLUICE_LOCAL_TPS', '0');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('sluice chat', () => {
  it('streams the local model’s answer as many writes, thinking marked, and exits 0', async () => {
    const { out, err, io } = capture();
    expect(await runChat(['What is backpressure?'], io)).toBe(0);
    const text = out.join('');
    expect(out.length).toBeGreaterThan(20);
    expect(text.startsWith('[thinking]\n')).toBe(true);
    expect(text).toMatch(/backpressure/i);
    expect(text.endsWith('\n')).toBe(true);
    expect(err).toEqual([]);
  });

  it('in process, Ctrl-C mid-answer ends with "stopped (by you)", not the runtime\'s abort message, and exits 130', async () => {
    vi.stubEnv('SLUICE_LOCAL_TPS', '30');
    try {
      const { out, err, io } = capture();
      const controller = new AbortController();
      const done = runChat(['What is backpressure?'], { ...io, env: { SLUICE_LOCAL_TPS: '30' }, signal: controller.signal });
      await vi.waitFor(() => expect(out.join('').length).toBeGreaterThan(20), { timeout: 15_000 });
      // What bin/sluice does on SIGINT: abort() with no reason ("This operation was aborted").
      controller.abort();
      expect(await done).toBe(130);
      expect(err.join('')).toBe('sluice chat: stopped (by you)\n');
    } finally {
      vi.stubEnv('SLUICE_LOCAL_TPS', '0');
    }
  });

  it('exits 2 with a message for an unknown model, and without a question', async () => {
    const bad = capture();
    expect(await runChat(['hi', '--model', 'nope'], bad.io)).toBe(2);
    expect(bad.err.join('')).toContain('Unknown model "nope"');
    const none = capture();
    expect(await runChat([], none.io)).toBe(2);
    expect(none.err.join('')).toContain('no question given');
  });

  it('asks a running server with --url and prints the same answer', async () => {
    const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
    const server: TestServer = await startServer(createApp({ models }));
    try {
      const remote = capture();
      expect(await runChat(['What is backpressure?', '--url', server.url], remote.io)).toBe(0);
      const local = capture();
      expect(await runChat(['What is backpressure?'], local.io)).toBe(0);
      // The message id differs per stream, the text does not.
      expect(remote.out.join('')).toBe(local.out.join(''));
    } finally {
      await server.close();
    }
  });
});

describe('npx sluice chat (the built CLI)', () => {
  it('prints the answer and exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const child = spawn(process.execPath, ['dist/cli/sluice.js', 'chat', 'What is backpressure?'], {
      cwd: root,
      env: { ...process.env, SLUICE_MODEL: 'local', SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '0' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/backpressure/i);
    expect(out).toContain('local demo model');
  });
});

describe('sluice chat, defensive output', () => {
  it('exits 1 when the stream ends without finish, error or abort, and strips terminal controls on a TTY', async () => {
    const server: TestServer = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        'event: message-start\ndata: {"type":"message-start","messageId":"m"}\n\n' +
          'event: text-delta\ndata: {"type":"text-delta","id":"t","delta":"half \\u001b]0;pwned\\u0007an answer"}\n\n',
      );
    });
    try {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runChat(['hi', '--url', `${server.url}/`], {
        stdout: { write: (t: string) => out.push(t), isTTY: true },
        stderr: { write: (t: string) => err.push(t) },
        env: {},
      });
      expect(code).toBe(1);
      expect(err.join('')).toContain('ended before the answer was complete');
      expect(out.join('')).toContain('half ]0;pwnedan answer');
      expect(out.join('')).not.toContain('\u0007');
    } finally {
      await server.close();
    }
  });

});

describe('sluice chat in-process: the agent and its tools', () => {
  it('runs the agent with the built-in tools in-process: the tool call, its result and the answer', async () => {
    const { out, io } = capture();
    expect(await runChat(['What is 12 * (3 + 4)?'], io)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/^\[tool call\] calculator \{"expression":/m);
    expect(text).toMatch(/^\[tool result\] calculator /m);
    expect(text).toContain('84');
  });

  it('sets the thinking apart from the answer with a blank line', async () => {
    const { out, io } = capture();
    expect(await runChat(['What is backpressure?'], io)).toBe(0);
    const text = out.join('');
    const answer = text.indexOf('\n\n');
    expect(answer).toBeGreaterThan('[thinking]\n'.length);
    expect(text.slice(answer + 2, answer + 3)).not.toBe('\n');
  });

  it('shows progress as one line per update, a bar updated in place on a terminal', async () => {
    const plain = capture();
    expect(await runChat(['analyze the sales data by region'], plain.io)).toBe(0);
    const lines = plain.out.join('').split('\n').filter((line) => line.startsWith('[progress]'));
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.at(-1)).toMatch(/^\[progress\] \[#{10}\] (\d+)\/\1 /);

    const tty = capture();
    (tty.io.stdout as { isTTY?: boolean }).isTTY = true;
    expect(await runChat(['analyze the sales data by region'], tty.io)).toBe(0);
    const writes = tty.out.filter((write) => write.includes('[progress]'));
    expect(writes.length).toBeGreaterThan(2);
    // Every update after the first moves up and clears the line it replaces.
    for (const write of writes.slice(1)) expect(write.startsWith('\u001b[1A\r\u001b[2K')).toBe(true);
  });
});

describe('sluice chat --url (built CLI)', () => {
  const cli = fileURLToPath(new URL('../dist/cli/sluice.js', import.meta.url));

  it('is built', () => {
    expect(existsSync(cli), 'run `npm run build` first').toBe(true);
  });

  it('stops the generation on the server on Ctrl-C (DELETE /v1/streams/<id> with the API key) and exits 130', async () => {
    // A slow answer, and a detach grace far longer than the test: only the DELETE can stop it.
    const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 30 }) } });
    const app = createApp({ models, apiKeys: ['key-a'], detachGraceMs: 600_000, env: {} });
    const deletes: { url: string | undefined; auth: string | undefined }[] = [];
    const server = await startServer((req, res) => {
      if (req.method === 'DELETE') deletes.push({ url: req.url, auth: req.headers.authorization });
      app(req, res);
    });
    try {
      const child = spawn(process.execPath, [cli, 'chat', 'What is backpressure?', '--url', server.url], {
        env: { ...process.env, SLUICE_API_KEY: 'key-a' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // Mid-answer: the thinking has started streaming.
      await vi.waitFor(() => expect(stdout.length).toBeGreaterThan(40), { timeout: 15_000 });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('sluice chat: stopped (by you)\n');
      expect(stderr).not.toContain('(stopped)');

      expect(deletes).toHaveLength(1);
      const id = /^\/v1\/streams\/([0-9a-f-]{36})$/.exec(deletes[0]!.url ?? '')?.[1];
      expect(id).toBeDefined();
      expect(deletes[0]!.auth).toBe('Bearer key-a');
      // With keys on, /metrics needs one too.
      const metrics = async (): Promise<string> => (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer key-a' } })).text();
      await vi.waitFor(async () => expect(await metrics()).toMatch(/^sluice_active_streams 0$/m));
      const replay = await fetch(`${server.url}/v1/streams/${id}`, { headers: { authorization: 'Bearer key-a' } });
      const events = agentEvents((await readEvents(replay)).events);
      expect(events.at(-1)).toMatchObject({ type: 'abort', data: { reason: 'stopped' } });
    } finally {
      await server.close();
      await app.shutdown({ drainMs: 0 });
    }
  });
});
