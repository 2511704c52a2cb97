/**
 * `sluice serve` without an optional peer dependency a route needs: the request gets a JSON
 * `501 missing_dependency` naming the package and the install command, and the log says so once,
 * without a stack trace, however many requests come. The peer is made missing the way a project
 * that never installed it sees it: a resolve hook in the server's process answers Node's own
 * `ERR_MODULE_NOT_FOUND` for it.
 */
import { describe, expect, it } from 'vitest';
import { startAppInstance } from './helpers/app-instance.ts';

/** A `--import` hook that makes `name` (and its subpaths) unresolvable, as if it were not installed. */
function withoutPackage(name: string): Record<string, string> {
  const hook = `
    import { registerHooks } from 'node:module';
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier === ${JSON.stringify(name)} || specifier.startsWith(${JSON.stringify(`${name}/`)})) {
          const error = new Error("Cannot find package '${name}' imported from " + context.parentURL);
          error.code = 'ERR_MODULE_NOT_FOUND';
          throw error;
        }
        return next(specifier, context);
      },
    });
  `;
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=data:text/javascript,${encodeURIComponent(hook)}`.trim() };
}

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

describe('POST /mcp without @modelcontextprotocol/sdk installed', () => {
  it('answers 501 missing_dependency naming the package and its install, and logs it once without a stack', { timeout: 30_000 }, async () => {
    const instance = await startAppInstance(withoutPackage('@modelcontextprotocol/sdk'));
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${instance.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify(INITIALIZE),
        });
        expect(response.status).toBe(501);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe('missing_dependency');
        expect(error.message).toMatch(/^The package "@modelcontextprotocol\/sdk" is not installed/);
        expect(error.message).toContain('npm install @modelcontextprotocol/sdk');
      }
      // The rest of the server is unaffected.
      expect((await fetch(`${instance.url}/healthz`)).status).toBe(200);
      const output = instance.output();
      const said = output.split('\n').filter((line) => line.includes('missing_dependency'));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/^sluice: POST \/mcp answers 501 missing_dependency, as will every request that needs the package until it is installed \(logged once\): .*npm install @modelcontextprotocol\/sdk/);
      // No stack trace, no MissingDependencyError dump.
      expect(output).not.toMatch(/^\s+at /m);
      expect(output).not.toContain('MissingDependencyError');
    } finally {
      await instance.stop();
    }
  });
});

describe('REDIS_URL without redis installed', () => {
  it('every route on the store answers 501 missing_dependency naming redis, logged once per package', { timeout: 30_000 }, async () => {
    // Port 1: nothing is ever connected to; the client is never loaded anyway.
    const instance = await startAppInstance({ ...withoutPackage('redis'), REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const requests = [
        { path: '/v1/chat', body: { messages: [{ role: 'user', content: 'hi' }] } },
        { path: '/v1/events', body: { topic: 'demo', data: 1 } },
        { path: '/v1/chat', body: { messages: [{ role: 'user', content: 'again' }] } },
      ];
      for (const { path, body } of requests) {
        const response = await fetch(`${instance.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(response.status).toBe(501);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error).toMatchObject({ code: 'missing_dependency', message: expect.stringContaining('npm install redis') });
      }
      const output = instance.output();
      expect(output.split('\n').filter((line) => line.includes('missing_dependency'))).toHaveLength(1);
      expect(output).not.toMatch(/^\s+at /m);
    } finally {
      await instance.stop();
    }
  });
});
