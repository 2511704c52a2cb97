/**
 * `sluice chat` asks on the terminal before a tool that needs approval runs: in-process (the
 * agent waits for the typed answer) and with `--url` (the answer is posted to the server's
 * approval route), approve and deny; and the built CLI reading the answer from stdin.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runChat } from '../src/cli/chat.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

function capture(answer: string | undefined): { out: string[]; err: string[]; prompts: string[]; io: Parameters<typeof runChat>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  const prompts: string[] = [];
  return {
    out,
    err,
    prompts,
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env: {},
      ask: (prompt) => {
        prompts.push(prompt);
        return Promise.resolve(answer);
      },
    },
  };
}

let app: AppHandler;
let server: TestServer;

beforeAll(async () => {
  vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '0');
  vi.stubEnv('SLUICE_LOCAL_TPS', '0');
  app = createApp({ env: {}, models: createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } }) });
  server = await startServer(app);
});

afterAll(async () => {
  await app.shutdown({ drainMs: 0 });
  await server.close();
  vi.unstubAllEnvs();
});

const QUESTION = 'Publish "cli says hi" on topic cli-news';

describe('sluice chat and tool approval', () => {
  it.each([
    ['in-process', []],
    ['--url', ['--url']],
  ])('%s: y approves; the tool runs and the answer gives its result', async (_name, flags) => {
    const chat = capture('y');
    const args = flags.length > 0 ? [QUESTION, '--url', server.url] : [QUESTION];
    expect(await runChat(args, chat.io)).toBe(0);
    expect(chat.prompts).toEqual([expect.stringMatching(/^\[approval\] publish_event \{"topic":"cli-news","data":\{"text":"cli says hi"\}\} — run it\? \[y\/N\] $/)]);
    const out = chat.out.join('');
    expect(out).toContain('[approved]');
    const id = /\[tool result\] publish_event \{"id":"([^"]+)"\}/.exec(out)?.[1];
    expect(id).toBeDefined();
    expect(out).toContain(`Approved and published: the event's id is \`${id}\``);
    expect(chat.err).toEqual([]);
  });

  it.each([
    ['in-process', false],
    ['--url', true],
  ])('%s: anything but y denies; nothing runs and the answer says so', async (_name, viaUrl) => {
    const chat = capture('n');
    expect(await runChat(viaUrl ? [QUESTION, '--url', server.url] : [QUESTION], chat.io)).toBe(0);
    const out = chat.out.join('');
    expect(out).toContain('[denied: denied in the terminal]');
    expect(out).toContain('[tool denied] publish_event (denied in the terminal)');
    expect(out).not.toContain('[tool result]');
    expect(out).toContain('nothing was published');
  });

  it('the built CLI reads the answer from stdin', async () => {
    const cli = fileURLToPath(new URL('../dist/cli/sluice.js', import.meta.url));
    const child = spawn(process.execPath, [cli, 'chat', QUESTION], { env: { ...process.env, SLUICE_MODEL: 'local', SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '0', REDIS_URL: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('[y/N] ')) child.stdin.end('yes\n');
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toContain('[approved]');
    expect(out).toMatch(/\[tool result\] publish_event \{"id":"1"\}/);
  });
});
