/**
 * Light entry points: `sluice` and `sluice/node` load the core (and the dependency-free SSE layer)
 * only, never the protocol layer with zod, nor a provider SDK or Redis. Each entry is imported in
 * a fresh Node process whose resolve hook records every module URL it loads.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

const HOOK = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    seen.push(result.url);
    return result;
  },
});
process.on('exit', () => process.stdout.write(JSON.stringify(seen)));
`;

/** Imports `entry` (a path under the repository) in a child process; resolves with the URLs it loaded. */
function loadedBy(entry: string): Promise<string[]> {
  const url = new URL(entry, `file://${root}/`).href;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(HOOK)}`, '--input-type=module', '-e', `await import(${JSON.stringify(url)});`],
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
