/**
 * Loads a recorded response and its status and headers from a fixtures folder.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { ReplayResponse } from './create-replay-server.ts';

/**
 * The recordings that ship with the package (`fixtures/` at its root): `openai-chat/`,
 * `openai-responses/`, `anthropic-messages/` and `ai-sdk-ui/`, each with a `meta.json`.
 * Pass `new URL('openai-chat/', BUNDLED_FIXTURES)` as the folder of {@link readReplayFixture}.
 *
 * @example
 * const fixture = await readReplayFixture(new URL('openai-chat/', BUNDLED_FIXTURES), 'text-basic.sse');
 */
// From src/providers/replay/ and from dist/providers/replay/ alike, the package root is three up.
export const BUNDLED_FIXTURES: URL = new URL('../../../fixtures/', import.meta.url);

/** One entry of a fixtures folder's `meta.json` (the fields the replay server needs). */
interface FixtureMeta {
  file: string;
  status?: number;
  headers?: Record<string, string>;
}

/**
 * Reads `file` from `folder` as a {@link ReplayResponse}. When the folder has a `meta.json` with
 * an entry for the file (`{"fixtures": [{"file", "status", "headers"}]}`), its status and headers
 * are used; otherwise status 200 and a content type from the extension (`.json` →
 * `application/json`, anything else → `text/event-stream`).
 * @param folder - the fixtures folder (path or `file:` URL)
 * @param file - the file in it (`text-basic.sse`, `error-429-rate-limit.json`)
 * @returns the response, ready to pass to a route (spread it to add chunking, drip, drop)
 */
export async function readReplayFixture(folder: string | URL, file: string): Promise<ReplayResponse> {
  const base = typeof folder === 'string' ? folder.replace(/\/?$/, '/') : new URL(folder.href.replace(/\/?$/, '/'));
  const at = (name: string): string | URL => (typeof base === 'string' ? `${base}${name}` : new URL(name, base));
  const body = await readFile(at(file));
  let meta: FixtureMeta | undefined;
  try {
    const parsed = JSON.parse(await readFile(at('meta.json'), 'utf8')) as { fixtures?: FixtureMeta[] };
    meta = parsed.fixtures?.find((entry) => entry.file === file);
  } catch (error) {
    // No meta.json is fine: defaults apply. Anything else (bad JSON) is the caller's to fix.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const isJson = file.endsWith('.json');
  return {
    body: new Uint8Array(body),
    status: meta?.status ?? 200,
    headers: meta?.headers ?? { 'content-type': isJson ? 'application/json' : 'text/event-stream; charset=utf-8' },
    chunking: isJson ? 'whole' : 'events',
  };
}
