/**
 * The package as a new user gets it: `npm pack` of the built repository, installed into a fresh
 * project offline (from the npm cache `npm install` filled). It unpacks to under 5 MB, installs
 * nothing besides itself (the SDKs, Redis, zod and the app's libraries are optional peer
 * dependencies), `sluice/node` streams with nothing else installed, and a subpath whose peer is
 * missing says which package to install. Slow (npm runs several times): in the `timing` project.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sluice-package-'));
const project = join(work, 'app');
const MAX_UNPACKED_BYTES = 5 * 1024 * 1024;
const PEERS = ['@anthropic-ai/sdk', '@modelcontextprotocol/sdk', 'csv-parse', 'minisearch', 'openai', 'prom-client', 'rate-limiter-flexible', 'redis', 'zod'];

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (never rejects: the exit code is in the result). */
function run(command: string, args: string[], cwd: string, timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Runs an ES module in the test project with this Node. */
function runInProject(source: string): Promise<Run> {
  return run(process.execPath, ['--input-type=module', '-e', source], project, 30_000);
}

let packed: PackResult;

beforeAll(async () => {
  // The tests of the CLI and server already need the build; packing must not rebuild it under them.
  if (!existsSync(join(root, 'dist', 'core', 'node', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first.');
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root);
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;

  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'hello-sluice', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, packed.filename)], project);
  if (install.code !== 0) throw new Error(`npm install of the tarball failed: ${install.stderr}`);
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('unpacks to under 5 MB and ships no generated large sample', () => {
    expect(packed.unpackedSize).toBeLessThan(MAX_UNPACKED_BYTES);
    expect(packed.files.map((file) => file.path)).not.toContain('dist/samples/large-sample.bin');
    expect(packed.files.map((file) => file.path)).toContain('dist/core/node/index.js');
  });

  it('declares the SDKs, Redis, zod and the app libraries as optional peer dependencies, and no dependency', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'sluice', 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(PEERS);
    for (const name of PEERS) expect(manifest.peerDependenciesMeta[name]).toEqual({ optional: true });
  });

  it('installs into a new project with no provider SDK, Redis client or zod beside it', () => {
    const installed = readdirSync(join(project, 'node_modules')).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['sluice']);
    for (const name of PEERS) expect(existsSync(join(project, 'node_modules', name))).toBe(false);
  });

  it('streams with sluice/node (and imports sluice) with nothing else installed', async () => {
    const result = await runInProject(`
      import { createServer } from 'node:http';
      import { sleep } from 'sluice';
      import { sendStream } from 'sluice/node';
      const server = createServer((req, res) => void sendStream(res, async function* (signal) {
        for (let i = 0; i < 3; i++) { await sleep(5, signal); yield \`数字: \${i}\\n\`; }
      })).listen(0, '127.0.0.1', async () => {
        const response = await fetch(\`http://127.0.0.1:\${server.address().port}/\`);
        process.stdout.write(await response.text());
        server.close();
      });
    `);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('数字: 0\n数字: 1\n数字: 2\n');
  });

  it.each([
    ['sluice/providers', /The package "(openai|@anthropic-ai\/sdk|minisearch)" is not installed/, 'npm install openai @anthropic-ai/sdk minisearch'],
    ['sluice/protocol', /The package "zod" is not installed/, 'npm install zod'],
    ['sluice/store/redis', /The package "redis" is not installed/, 'npm install redis'],
    ['sluice/agent', /The package "(zod|minisearch|csv-parse)" is not installed/, 'npm install zod minisearch csv-parse'],
  ])('importing %s without its peers names the package to install', async (subpath, missing, install) => {
    const result = await runInProject(`
      try { await import(${JSON.stringify(subpath)}); console.log('imported'); }
      catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })); }
    `);
    expect(result.stderr).toBe('');
    const error = JSON.parse(result.stdout) as { name: string; code: string; message: string };
    expect(error).toMatchObject({ name: 'MissingDependencyError', code: 'missing_dependency' });
    expect(error.message).toMatch(missing);
    expect(error.message).toContain(install);
  });

  it('runs `sluice tail` with nothing else installed, and `sluice serve` names what to install', { timeout: 60_000 }, async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('event: greeting\nid: 1\ndata: {"hello":"世界"}\n\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const bin = join(project, 'node_modules', '.bin', 'sluice');
      const tail = await run(bin, ['tail', `http://127.0.0.1:${port}/`, '--no-reconnect'], project, 30_000);
      expect(tail).toMatchObject({ code: 0, stderr: '' });
      expect(tail.stdout).toBe('[greeting #1] {"hello":"世界"}\n');
      const serve = await run(bin, ['serve'], project, 30_000);
      expect(serve.code).toBe(1);
      expect(serve.stderr).toMatch(/^sluice: The package "[^"]+" is not installed: .*sluice\/server: npm install zod openai @anthropic-ai\/sdk minisearch csv-parse prom-client/);
    } finally {
      server.close();
    }
  });

  it('has a package-lock.json that npm ci accepts (every optional dependency listed, for every platform)', { timeout: 120_000 }, async () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { os?: string[] }> };
    // vite's win32-only optional dependency: npm ci refused the lock without it ("Missing: … from lock file").
    expect(lock.packages['node_modules/napi-windows-process-start-time']?.os).toEqual(['win32']);
    const ci = await run('npm', ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], root);
    expect(ci.stderr).not.toMatch(/npm error/);
    expect(ci.code).toBe(0);
  });

  it('loads sluice/protocol once its peer is installed (zod, offline from the npm cache)', { timeout: 120_000 }, async () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    // By its tarball's address, which `npm install` cached: a name and version would need the
    // registry's metadata for zod, which a lock-file install never fetches (ENOTCACHED offline).
    const registry = (await run('npm', ['config', 'get', 'registry'], project)).stdout.trim().replace(/\/$/, '');
    const version = lock.packages['node_modules/zod']!.version;
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', `${registry}/zod/-/zod-${version}.tgz`], project);
    expect(install.stderr).not.toMatch(/npm error|ERR!/);
    expect(install.code).toBe(0);
    const result = await runInProject(`
      const { parseAgentEvent } = await import('sluice/protocol');
      console.log(JSON.stringify(parseAgentEvent({ type: 'text-delta', id: 't', delta: 'hi' })));
    `);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ type: 'text-delta', id: 't', delta: 'hi' });
    // Installing zod brought no SDK or Redis client with it.
    for (const name of ['openai', '@anthropic-ai', 'redis']) expect(existsSync(join(project, 'node_modules', name))).toBe(false);
  });

  it('runs the local model from sluice/providers with only minisearch installed; a vendor provider without its SDK names it on its first call', { timeout: 120_000 }, async () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const registry = (await run('npm', ['config', 'get', 'registry'], project)).stdout.trim().replace(/\/$/, '');
    const version = lock.packages['node_modules/minisearch']!.version;
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', `${registry}/minisearch/-/minisearch-${version}.tgz`], project);
    expect(install.code).toBe(0);
    const result = await runInProject(`
      const { createLocalProvider, createOpenAIProvider } = await import('sluice/providers');
      const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
      let text = '';
      for await (const event of local({ model: 'local', messages: [{ role: 'user', content: 'hi' }] })) if (event.type === 'text-delta') text += event.delta;
      let failure;
      try {
        for await (const event of createOpenAIProvider({ apiKey: 'sk-test' })({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })) void event;
      } catch (error) {
        failure = { name: error.name, code: error.code, message: error.message };
      }
      console.log(JSON.stringify({ text: text.length > 0, failure }));
    `);
    expect(result.stderr).toBe('');
    const { text, failure } = JSON.parse(result.stdout) as { text: boolean; failure: { name: string; code: string; message: string } };
    expect(text).toBe(true);
    expect(failure).toMatchObject({ name: 'MissingDependencyError', code: 'missing_dependency' });
    expect(failure.message).toContain('The package "openai" is not installed');
    for (const name of ['openai', '@anthropic-ai']) expect(existsSync(join(project, 'node_modules', name))).toBe(false);
  });

  it("type-checks sluice/agent and sluice/node without skipLibCheck and without the MCP SDK (zod installed, as tool() needs)", { timeout: 120_000 }, async () => {
    // Runs after the test above installed zod. The declarations must not name a peer the user did
    // not install: sluice/agent's MCP types are written out (src/agent/mcp/mcp-types.ts).
    expect(existsSync(join(project, 'node_modules', '@modelcontextprotocol'))).toBe(false);
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { runAgent, tool, type McpTool } from 'sluice/agent';",
        "import { sendStream } from 'sluice/node';",
        "import { z } from 'zod';",
        "const add = tool({ name: 'add', description: 'adds', input: z.object({ a: z.number() }), execute: ({ a }) => a + 1 });",
        "const listed: McpTool = { name: 'x', inputSchema: { type: 'object' } };",
        'export { add, listed, runAgent, sendStream };',
        '',
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), 'check.ts'];
    const result = await run(process.execPath, [tsc, ...args], project);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
