/**
 * `sluice chat "question"`: text as it arrives, thinking and tool calls marked, exit codes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runChat } from '../src/cli/chat.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

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
