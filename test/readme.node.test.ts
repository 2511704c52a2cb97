/**
 * Every shell command in README.md and README.zh-CN.md runs here, as written, with three changes a
 * test needs: `localhost:3000` becomes the port the test's server got, `npx sluice` becomes the
 * built CLI (`node dist/cli/sluice.js`: inside the clone, npx links it and runs `prepare`, which
 * may rebuild dist/ under the other tests), and a model's base URL points at the replay server
 * (no network). A command no handler here recognises fails the first test: a README command
 * without a test cannot be added. The two-instance block runs unprivileged (nginx in the
 * foreground with its own prefix, private Redis, free ports) instead of `sudo … reload`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_FIXTURES, createReplayServer, readReplayFixture, type ReplayServer } from '../src/providers/replay/index.ts';
import { readMeta } from './providers-helpers.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { readEvents } from './helpers/sse-events.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist', 'cli', 'sluice.js');
const READMES = ['README.md', 'README.zh-CN.md'];
const NGINX = '/usr/sbin/nginx';
const NGINX_CONF = join(root, 'deploy', 'nginx.conf');

/** The shell code blocks of a Markdown file. */
function shellBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (current === undefined && /^```(sh|bash|shell)\s*$/.test(line)) current = [];
    else if (current !== undefined && line.startsWith('```')) {
      blocks.push(current);
      current = undefined;
    } else current?.push(line);
  }
  return blocks;
}

/** A line without its trailing `# comment` (a `#` outside quotes, after a space). */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** The commands of a block: continuation lines (`\` or an open quote) joined, comments dropped. */
function commandsOf(block: string[]): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const raw of block) {
    if (pending === '' && (raw.trim() === '' || raw.trim().startsWith('#'))) continue;
    const line = pending === '' ? withoutComment(raw) : raw;
    pending += (pending === '' ? '' : '\n') + line;
    const openQuote = (pending.match(/'/g) ?? []).length % 2 === 1;
    if (pending.endsWith('\\') || openQuote) continue;
    commands.push(withoutComment(pending));
    pending = '';
  }
  if (pending !== '') commands.push(pending);
  return commands;
}

const commands = READMES.flatMap((file) => shellBlocks(readFileSync(join(root, file), 'utf8')).flatMap((block) => commandsOf(block).map((command) => ({ file, command }))));

/** What runs each kind of README command (each `it` below), by the command's shape. */
const HANDLERS: { name: string; matches: (command: string) => boolean }[] = [
  { name: 'npm install && npm start', matches: (c) => c === 'npm install && npm start' },
  { name: 'npm test', matches: (c) => c === 'npm test' },
  { name: 'npm start with a model', matches: (c) => /^([A-Z_]+=\S+ )+npm start$/.test(c) },
  { name: 'curl the numbers demo', matches: (c) => c.startsWith('curl -N "http://localhost:3000/demo/numbers') },
  { name: 'curl /v1/chat', matches: (c) => /^curl -N localhost:3000\/v1\/chat -H 'content-type: application\/json' \\\n\s+-d '\{"messages"/.test(c) },
  { name: 'sluice chat', matches: (c) => c.startsWith('npx sluice chat ') },
  { name: 'sluice tail', matches: (c) => c.startsWith('npx sluice tail "http://localhost:3000/v1/events?topic=news"') },
  { name: "a client's tools round trip", matches: (c) => c.startsWith('TOOLS=') || c.startsWith(`curl -N localhost:3000/v1/chat -H 'content-type: application/json' -d '{"tools":`) },
  { name: 'two instances behind nginx', matches: (c) => /^REDIS_URL=\S+ SLUICE_TRUST_PROXY=127\.0\.0\.1 PORT=400\d npx sluice serve &$/.test(c) || c.startsWith('sudo cp deploy/nginx.conf ') || c === 'sudo nginx -t && sudo nginx -s reload' },
];

/** The README commands a handler runs. */
function commandsFor(name: string): string[] {
  const handler = HANDLERS.find((candidate) => candidate.name === name)!;
  return [...new Set(commands.filter(({ command }) => handler.matches(command)).map(({ command }) => command))];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A README command as this test runs it (see the file's header). */
function adapt(command: string, port: number): string {
  return command.replaceAll('localhost:3000', `127.0.0.1:${port}`).replaceAll('npx sluice ', `node ${JSON.stringify(CLI)} `);
}

interface Spawned {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output(): string;
  stdout(): string;
  exited: Promise<number | null>;
  /** Ends the process and its children (its own process group). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<Spawned>();

/** Runs a shell command in its own process group. */
function sh(command: string, env: Record<string, string> = {}): Spawned {
  const child = spawn('bash', ['-c', command], { cwd: root, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawned: Spawned = {
    child,
    output: () => output,
    stdout: () => stdout,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(spawned);
    },
  };
  running.add(spawned);
  return spawned;
}

/** Runs a command to its end; resolves with its exit code and stdout. */
async function runToEnd(command: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const spawned = sh(command, env);
  const timer = setTimeout(() => void spawned.stop('SIGKILL'), timeoutMs);
  const code = await spawned.exited;
  clearTimeout(timer);
  running.delete(spawned);
  return { code, output: spawned.stdout() };
}

/** Waits until `output()` matches `pattern`; resolves with the match. */
async function waitFor(spawned: Spawned, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(spawned.output());
    if (match !== null) return match;
    if (spawned.child.exitCode !== null || Date.now() > deadline) throw new Error(`never printed ${String(pattern)}:\n${spawned.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a README `npm start` line on a free port; resolves with the server's port. */
async function npmStart(command: string, env: Record<string, string> = {}): Promise<{ server: Spawned; port: number }> {
  const server = sh(command, { PORT: '0', HOST: '127.0.0.1', SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '0', ...env });
  const match = await waitFor(server, /listening on http:\/\/[^:]+:(\d+)/);
  return { server, port: Number(match[1]) };
}

let app: { server: Spawned; port: number };

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first.');
  app = await npmStart(commandsFor('npm install && npm start')[0]!.replace('npm install && ', ''));
}, 60_000);

afterAll(async () => {
  await Promise.all([...running].map((spawned) => spawned.stop('SIGKILL')));
});

describe('the README commands', () => {
  it('are each run by a test in this file', () => {
    expect(commands.length).toBeGreaterThan(10);
    const uncovered = commands.filter(({ command }) => HANDLERS.filter((handler) => handler.matches(command)).length !== 1);
    expect(uncovered).toEqual([]);
    for (const handler of HANDLERS) expect(commandsFor(handler.name), handler.name).not.toEqual([]);
  });

  it('npm install && npm start: the install is what .ci/run runs (and checks the lock after); npm start serves the page', async () => {
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm install$/m);
    expect(ci).toMatch(/git diff --exit-code --stat -- package-lock\.json/);
    expect(app.server.output()).toContain('model: local');
    const page = await fetch(`http://127.0.0.1:${app.port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('npm test is what .ci/run runs last', () => {
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8').trimEnd().split('\n').at(-1)).toBe('npm test');
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.test).toContain('vitest run');
  });

  describe('npm start with a real model (its base URL on the replay server)', () => {
    let replay: ReplayServer;
    beforeAll(async () => {
      const openai = await readReplayFixture(new URL('openai-chat/', BUNDLED_FIXTURES), 'text-basic.sse');
      const anthropic = await readReplayFixture(new URL('anthropic-messages/', BUNDLED_FIXTURES), 'text.sse');
      replay = await createReplayServer({ routes: { 'POST /v1/chat/completions': openai, 'POST /v1/messages': anthropic } });
    });
    afterAll(async () => {
      await replay.close();
    });

    const expected = (folder: string, file: string): string => readMeta(folder).find((entry) => entry.file === file)!.expected.text;

    it.each(commandsFor('npm start with a model'))('%s', { timeout: 60_000 }, async (command) => {
      const model = /SLUICE_MODEL=(\S+)/.exec(command)![1]!;
      // `sk-…` stands for the reader's key (and `…` cannot go into an HTTP header).
      const line = command.replace(/OPENAI_COMPATIBLE_BASE_URL=\S+/, `OPENAI_COMPATIBLE_BASE_URL=${replay.url}/v1`).replaceAll('…', 'test-key');
      const { server, port } = await npmStart(line, { OPENAI_BASE_URL: `${replay.url}/v1`, ANTHROPIC_BASE_URL: replay.url });
      try {
        expect(server.output()).toContain(`model: ${model}`);
        const response = await fetch(`http://127.0.0.1:${port}/v1/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/plain' },
          body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(text).toBe(model.startsWith('anthropic:') ? expected('anthropic-messages', 'text.sse') : expected('openai-chat', 'text-basic.sse'));
      } finally {
        await server.stop();
      }
    });
  });

  it.each(commandsFor('curl the numbers demo'))('%s', { timeout: 20_000 }, async (command) => {
    const { code, output } = await runToEnd(adapt(command, app.port));
    expect(code).toBe(0);
    expect(output).toBe(Array.from({ length: 10 }, (_, i) => `数字: ${i}\n`).join(''));
  });

  it.each(commandsFor('curl /v1/chat'))('%s', { timeout: 30_000 }, async (command) => {
    const { code, output } = await runToEnd(adapt(command, app.port));
    expect(code).toBe(0);
    expect(output).toContain('event: tool-call\n');
    expect(output).toContain('"toolName":"calculator"');
    expect(output).toContain('391');
    expect(output).toMatch(/event: finish\nid: \d+\ndata: \{"type":"finish","finishReason":"stop"/);
  });

  it.each(commandsFor('sluice chat'))('%s', { timeout: 60_000 }, async (command) => {
    const { code, output } = await runToEnd(adapt(command, app.port), { SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '0' });
    expect(code).toBe(0);
    expect(output).toContain('[tool call] search_docs');
    expect(output).toMatch(/\[source\] /);
  });

  it.each(commandsFor('sluice tail'))('%s', { timeout: 30_000 }, async (command) => {
    const tail = sh(adapt(command, app.port));
    // The subscription is open once the server counts it; then a publish reaches it.
    for (let attempt = 0; attempt < 100 && !/sluice_open_connections [1-9]/.test(await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text()); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const published = await fetch(`http://127.0.0.1:${app.port}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'news', event: 'headline', data: { title: 'hi' } }),
    });
    expect(published.status).toBe(202);
    const { id } = (await published.json()) as { id: string };
    await waitFor(tail, new RegExp(`\\[headline #${id}\\] \\{"title":"hi"\\}`));
    await tail.stop('SIGINT');
  });

  it("runs the zh-CN README's client-tool round trip as one script", { timeout: 60_000 }, async () => {
    const script = commandsFor("a client's tools round trip").map((command) => adapt(command, app.port));
    expect(script).toHaveLength(3);
    const { code, output } = await runToEnd(script.join('\n'));
    expect(code).toBe(0);
    const [first, second] = output.split(/(?=event: message-start\n)/).filter((part) => part.includes('event: finish'));
    expect(first).toContain('"toolName":"get_weather","input":{"city":"Paris"}');
    expect(first).toContain('"finishReason":"tool-calls"');
    expect(second).toContain('event: text-delta');
    expect(second).toContain('"finishReason":"stop"');
  });
});

describe('the README', () => {
  it('stays under 350 lines: what a newcomer reads to the end (reference material lives in docs/)', () => {
    const lines = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8').split('\n');
    // A file ending in a newline splits into one empty string more.
    expect(lines.length - (lines.at(-1) === '' ? 1 : 0)).toBeLessThan(350);
  });
});

describe('the ports the docs start things on', () => {
  // A user follows the README, then runs an example (or the other way round): nothing the docs
  // start may take a port another documented thing uses (it did: the instances were on 3001 and
  // 3002, example:numbers and example:react on 3001, the README's first snippet on 3001).
  it('never collide: npm start, each example, the first snippet, the two instances, the upstream and nginx; the instances are upstream servers', () => {
    const read = (path: string): string => readFileSync(join(root, path), 'utf8');
    const examples = [...readdirSync(join(root, 'examples')).filter((name) => /^\d\d-.*\.ts$/.test(name)).map((name) => `examples/${name}`), 'examples/react-chat/serve.ts'];
    const exampleDefaults = examples.map((path) => Number(/process\.env\.PORT \?\? (\d+)\)/.exec(read(path))?.[1]));
    expect(exampleDefaults.every((port) => port > 0)).toBe(true);
    const snippets = [...new Set([...READMES, 'docs/from-fastapi.md', 'docs/zh-CN/from-fastapi.md'].flatMap((path) => [...read(path).matchAll(/\)\.listen\((\d+)\);/g)].map((match) => Number(match[1]))))];
    expect(snippets).toHaveLength(1);
    const instances = [...new Set(commandsFor('two instances behind nginx').flatMap((line) => /PORT=(\d+)/.exec(line)?.[1] ?? []).map(Number))];
    expect(instances).toHaveLength(2);
    const conf = read('deploy/nginx.conf');
    const upstream = [...conf.matchAll(/^\s*server 127\.0\.0\.1:(\d+)\b/gm)].map((match) => Number(match[1]));
    const listen = [...conf.matchAll(/^\s*listen (\d+);/gm)].map((match) => Number(match[1]));
    expect(upstream).toEqual(expect.arrayContaining(instances));
    // 3000: `npm start` / `sluice serve` (docs/server.md's PORT default).
    const all = [3000, ...exampleDefaults, ...snippets, ...upstream, ...listen];
    expect(all.filter((port, i) => all.indexOf(port) !== i)).toEqual([]);
  });
});

describe('two instances behind deploy/nginx.conf, as the README starts them', () => {
  const missing = [
    ...(existsSync(NGINX) ? [] : [`nginx is not installed (${NGINX}; apt-get install nginx)`]),
    ...(existsSync(NGINX_CONF) ? [] : ['deploy/nginx.conf is not in this checkout']),
  ];
  if (missing.length > 0) {
    const message = `The nginx test needs: ${missing.join('; ')}.`;
    if (process.env.CI === 'true') throw new Error(message);
    console.warn(`${message} Skipped; on CI (CI=true) it fails instead.`);
  }
  const available = missing.length === 0 && requireRedisServer();
  let redis: RedisServer;
  let work: string;
  let nginxPort: number;
  const instances: { spawned: Spawned; port: number }[] = [];

  beforeAll(async () => {
    if (!available) return;
    redis = await startRedisServer();
    work = mkdtempSync(join(tmpdir(), 'sluice-readme-nginx-'));
    const ports = [await freePort(), await freePort()];
    for (const command of commandsFor('two instances behind nginx').filter((line) => line.includes('sluice serve'))) {
      const readmePort = Number(/PORT=(\d+)/.exec(command)![1]);
      const port = ports[instances.length]!;
      const line = adapt(command, 0).replace(/REDIS_URL=\S+/, `REDIS_URL=${redis.url}`).replace(/PORT=\d+/, `PORT=${port}`).replace(/ &$/, '');
      const spawned = sh(line, { HOST: '127.0.0.1', SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '100', SLUICE_DRAIN_MS: '30000' });
      await waitFor(spawned, /listening on http:/);
      instances.push({ spawned, port });
      expect(readmePort).toBeGreaterThan(0);
    }
    // `sudo cp deploy/nginx.conf /etc/nginx/conf.d/sluice.conf`: here a conf.d of the test's own,
    // with one `server` line per instance run (as the README says) on the test's ports.
    nginxPort = await freePort();
    const readmePorts = commandsFor('two instances behind nginx').flatMap((line) => /PORT=(\d+)/.exec(line)?.[1] ?? []);
    let conf = readFileSync(NGINX_CONF, 'utf8');
    conf = conf.replace(/^\s*server 127\.0\.0\.1:(\d+)([^;]*);\s*$/gm, (line, port: string, rest: string) => {
      const index = readmePorts.indexOf(port);
      return index === -1 ? '' : `    server 127.0.0.1:${instances[index]!.port}${rest};`;
    });
    conf = conf.replace(/listen 8080;/, `listen 127.0.0.1:${nginxPort};`);
    expect(conf).toContain(`listen 127.0.0.1:${nginxPort};`);
    mkdirSync(join(work, 'conf.d'));
    writeFileSync(join(work, 'conf.d', 'sluice.conf'), conf);
    copyFileSync(NGINX_CONF, join(work, 'original.conf'));
    writeFileSync(
      join(work, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        ...(process.getuid?.() === 0 ? ['user root root;'] : []),
        `pid ${join(work, 'nginx.pid')};`,
        `error_log ${join(work, 'error.log')} warn;`,
        'events { worker_connections 256; }',
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(work, kind)};`),
        `  include ${join(work, 'conf.d')}/*.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    // `sudo nginx -t && sudo nginx -s reload`: here the test's own nginx, checked, then started.
    const check = await runToEnd(`${NGINX} -t -p ${work} -e ${join(work, 'error.log')} -c ${join(work, 'nginx.conf')} 2>&1`);
    expect(check.output).toContain('test is successful');
    const nginx = sh(`exec ${NGINX} -p ${work} -e ${join(work, 'error.log')} -c ${join(work, 'nginx.conf')}`);
    for (let attempt = 0; attempt < 100; attempt++) {
      const ok = await fetch(`http://127.0.0.1:${nginxPort}/healthz`).then((response) => response.ok, () => false);
      if (ok) break;
      if (nginx.child.exitCode !== null) throw new Error(`nginx exited: ${nginx.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 60_000);

  afterAll(async () => {
    if (!available) return;
    await Promise.all([...running].map((spawned) => spawned.stop('SIGKILL')));
    await redis.close();
    rmSync(work, { recursive: true, force: true });
  });

  it.runIf(available)('a chat started through nginx resumes through nginx on the other instance when its own drains', { timeout: 90_000 }, async () => {
    const base = `http://127.0.0.1:${nginxPort}`;
    const response = await fetch(`${base}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Write a report on resume' }] }),
    });
    expect(response.status).toBe(200);
    const streamId = response.headers.get('x-stream-id')!;
    // The first events, through nginx, as they are produced; then this client goes away.
    const { events: seen, ended } = await readEvents(response, 5);
    expect(ended).toBe(false);
    // The instance producing it counts one active stream: send it SIGTERM (it drains: the run goes on, its followers are cut).
    const active = await Promise.all(instances.map(async ({ port }) => /^sluice_active_streams 1$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())));
    expect(active.filter(Boolean)).toHaveLength(1);
    const producer = instances[active.indexOf(true)]!;
    producer.spawned.child.kill('SIGTERM');
    // Draining once its /readyz says so (the signal is handled a moment later): a resume sent before
    // that could reach it as a follower, which its drain then cuts.
    for (let attempt = 0; attempt < 100; attempt++) {
      const status = await fetch(`http://127.0.0.1:${producer.port}/readyz`).then((r) => r.status, () => 0);
      if (status === 503) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Resume through nginx: the draining instance answers 503, nginx passes the GET to the other.
    const resumed = await fetch(`${base}/v1/streams/${streamId}`, { headers: { 'last-event-id': seen.at(-1)!.id } });
    expect(resumed.status).toBe(200);
    const { events: rest } = await readEvents(resumed);
    const ids = [...seen, ...rest].map((event) => Number(event.id));
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    expect(rest.at(-1)!.event).toBe('finish');
    expect(rest.some((event) => event.event === 'text-delta')).toBe(true);
  });
});
