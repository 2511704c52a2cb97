/**
 * Light entry points: `sluice` and `sluice/node` load the core (and the dependency-free SSE layer)
 * only, never the protocol layer with zod, nor a provider SDK or Redis; and each subpath loads the
 * dependencies the README's entry-point table lists. Each entry is imported in a fresh Node process
 * whose resolve hook records every module URL it loads.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

const HOOK = `
import { registerHooks } from 'node:module';
const seen = new Set();
globalThis.loadedUrls = seen;
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    seen.add(result.url);
    return result;
  },
});
`;

/**
 * Imports `entry` (a path under the repository) in a child process; resolves with the URLs it loaded.
 * The child prints them once the import is done, not from an `exit` handler: at exit a pipe drops
 * whatever is still unwritten (past 64 KB, as importing the SDKs loads).
 */
function loadedBy(entry: string): Promise<string[]> {
  const url = new URL(entry, `file://${root}/`).href;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(HOOK)}`, '--input-type=module', '-e', `await import(${JSON.stringify(url)}); process.stdout.write(JSON.stringify([...globalThis.loadedUrls]));`],
      { cwd: root },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`importing ${entry} failed: ${stderr}`));
        else resolve(JSON.parse(stdout) as string[]);
      },
    );
  });
}

const HEAVY = ['zod', 'openai', '@anthropic-ai', 'redis', '/src/protocol/', '/src/providers/', '/src/server/'];

describe.each(['src/index.ts', 'src/core/node/index.ts', 'src/core/index.ts'])('importing %s', (entry) => {
  it('loads no protocol, provider, server, zod, OpenAI, Anthropic or Redis module', async () => {
    const urls = await loadedBy(entry);
    expect(urls.some((url) => url.includes('/src/core/'))).toBe(true);
    expect(urls.filter((url) => HEAVY.some((name) => url.includes(name)))).toEqual([]);
  });
});

/** The package's own dependencies a list of module URLs loaded (their transitive ones left out). */
function dependenciesIn(urls: string[]): string[] {
  const names = new Set<string>();
  for (const url of urls) {
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (name !== undefined && name in DEPENDENCIES) names.add(name);
  }
  return [...names].sort();
}

// The optional peer dependencies: each layer loads only its own (the repository installs them all as devDependencies).
const DEPENDENCIES = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies;

// The README's table of subpaths, column "install as well" (what each subpath loads). The vendor
// SDKs (openai, @anthropic-ai/sdk) are loaded on their provider's first call, not on import.
describe.each([
  ['src/index.ts', []],
  ['src/core/node/index.ts', []],
  ['src/sse/index.ts', []],
  ['src/protocol/index.ts', ['zod']],
  ['src/providers/index.ts', ['minisearch']],
  ['src/agent/index.ts', ['csv-parse', 'minisearch', 'zod']],
  ['src/store/index.ts', []],
  ['src/store/redis.ts', ['redis']],
  ['src/server/index.ts', ['csv-parse', 'minisearch', 'prom-client', 'zod']],
  ['src/providers/replay/index.ts', []],
])('importing %s', (entry, expected) => {
  it(`loads the dependencies ${expected.length > 0 ? expected.join(', ') : 'none'}`, async () => {
    expect(dependenciesIn(await loadedBy(entry))).toEqual(expected);
  });
});
