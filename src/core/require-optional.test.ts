import { describe, expect, it } from 'vitest';
import { isSluiceError } from './errors.ts';
import { importOptional, MissingDependencyError, OPTIONAL_DEPENDENCIES_BY_SUBPATH } from './require-optional.ts';

/** A module-not-found error as Node words it. */
function nodeNotFound(specifier: string): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}' imported from /app/node_modules/sluice/dist/providers/openai/create-openai-provider.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

describe('importOptional', () => {
  it('returns the module when the package is installed', async () => {
    const zod = await importOptional('zod', () => import('zod'));
    expect(typeof zod.z.object).toBe('function');
  });

  it('names the package to install, and every subpath that needs it, when it is missing', async () => {
    const error = await importOptional('openai', () => Promise.reject(nodeNotFound('openai'))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect(isSluiceError(error)).toBe(true);
    const { code, packageName, message, cause } = error as MissingDependencyError;
    expect({ code, packageName }).toEqual({ code: 'missing_dependency', packageName: 'openai' });
    expect(message).toContain('npm install openai ');
    expect(message).toContain('sluice/providers and sluice/server need');
    expect(message).toContain('sluice/providers: npm install openai @anthropic-ai/sdk minisearch');
    expect((cause as Error).message).toContain("Cannot find package 'openai'");
  });

  it('recognises the words of Bun and Deno as well', async () => {
    const bun = Object.assign(new Error(`Cannot find package 'redis' from '/app/node_modules/sluice/dist/store/redis.js'`), { code: 'ERR_MODULE_NOT_FOUND' });
    const deno = new Error('Could not find package "zod" from referrer "file:///app/node_modules/sluice/dist/protocol/schema.js".');
    await expect(importOptional('redis', () => Promise.reject(bun))).rejects.toThrow(/npm install redis/);
    await expect(importOptional('zod', () => Promise.reject(deno))).rejects.toThrow(/npm install zod/);
  });

  it('passes through a missing package that is not the one asked for (a broken install of the dependency itself)', async () => {
    const inner = nodeNotFound('cluster-key-slot');
    await expect(importOptional('redis', () => Promise.reject(inner))).rejects.toBe(inner);
    const similar = nodeNotFound('openai-extra');
    await expect(importOptional('openai', () => Promise.reject(similar))).rejects.toBe(similar);
  });

  it('passes through any other failure as it is', async () => {
    const failure = new SyntaxError('Unexpected token');
    await expect(importOptional('zod', () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it("lists, for each subpath, exactly the package.json's optional peer dependencies", async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const listed = new Set([...Object.values(OPTIONAL_DEPENDENCIES_BY_SUBPATH).flat(), 'redis']);
    expect([...listed].sort()).toEqual(Object.keys(pkg.peerDependencies).sort());
    for (const name of listed) expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
  });
});
