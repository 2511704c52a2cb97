/**
 * Loading an optional peer dependency. The SDKs, Redis, zod and the app's libraries are optional
 * peer dependencies of sluice, so a project installs only what the layers it imports need; each
 * module that uses one loads it with {@link importOptional}, whose error names the package to
 * install instead of the runtime's bare "Cannot find package".
 *
 * @module
 */
import { SluiceError } from './errors.ts';

/** What each subpath needs installed besides sluice (the rest need nothing). */
export const OPTIONAL_DEPENDENCIES_BY_SUBPATH = {
  'sluice/protocol': ['zod'],
  'sluice/providers': ['openai', '@anthropic-ai/sdk', 'minisearch'],
  'sluice/agent': ['zod', 'minisearch', 'csv-parse'],
  'sluice/store/redis': ['redis'],
  'sluice/server': ['zod', 'openai', '@anthropic-ai/sdk', 'minisearch', 'csv-parse', 'prom-client', 'rate-limiter-flexible'],
  'MCP (SLUICE_MCP_SERVERS, POST /mcp)': ['@modelcontextprotocol/sdk'],
} as const satisfies Record<string, readonly string[]>;

/** An optional peer dependency of sluice. */
export type OptionalDependency = (typeof OPTIONAL_DEPENDENCIES_BY_SUBPATH)[keyof typeof OPTIONAL_DEPENDENCIES_BY_SUBPATH][number];

/** Thrown when a layer's optional peer dependency is not installed. */
export class MissingDependencyError extends SluiceError {
  override name = 'MissingDependencyError';
  /** The package to install. */
  readonly packageName: string;

  constructor(packageName: OptionalDependency, cause: unknown) {
    const subpaths = Object.entries(OPTIONAL_DEPENDENCIES_BY_SUBPATH).filter(([, names]) => (names as readonly string[]).includes(packageName));
    const all = subpaths.map(([subpath, names]) => `${subpath}: npm install ${names.join(' ')}`).join('; ');
    super(
      'missing_dependency',
      `The package "${packageName}" is not installed: it is an optional peer dependency of sluice, which ${new Intl.ListFormat('en').format(subpaths.map(([subpath]) => subpath))} need${subpaths.length === 1 ? 's' : ''}. ` +
        `Install it in your project: npm install ${packageName} (everything a subpath needs — ${all}; the server also loads redis when REDIS_URL is set).`,
      { status: 500, cause },
    );
    this.packageName = packageName;
  }
}

/**
 * Whether `error` says that `packageName` itself cannot be found (not a file inside it, nor
 * another package it needs), in the words of Node, Bun or Deno.
 */
function isMissingPackage(error: unknown, packageName: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return false;
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /cannot find (package|module)|could not find|not found/i.test(message);
  return notFound && [`'${packageName}'`, `"${packageName}"`, `npm:${packageName}`].some((quoted) => message.includes(quoted));
}

/**
 * Loads an optional peer dependency.
 * @param packageName - the package `load` imports
 * @param load - `() => import('the-package')`, written out so bundlers and types still see it
 * @returns the module
 * @throws {@link MissingDependencyError} naming the package when it is not installed; any other failure as it is
 */
export async function importOptional<T>(packageName: OptionalDependency, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, packageName)) throw new MissingDependencyError(packageName, error);
    throw error;
  }
}
