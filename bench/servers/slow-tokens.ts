/**
 * The token source shared by the slow-streams bench servers (bench/slow-streams.bench.ts): both
 * servers run this same generator, so the only difference between them is how events reach the
 * socket.
 *
 * @module
 */
import { sleep } from '../../src/core/sleep.ts';

/** One event of a slow stream, as sluice's `sse()` format takes it. */
export interface SlowToken {
  data: string;
}

/**
 * `n` small tokens, one every `intervalMs`, like a model streaming a reply. The schedule is
 * fixed from the start (token `i` is due at `start + (i + 1) * intervalMs`), so a late timer does
 * not push every later token back and the client can measure each event's lateness against it.
 * @param n - how many tokens
 * @param intervalMs - the time between tokens
 * @param data - the token's text
 * @param signal - aborts the wait between tokens
 */
export async function* slowTokens(n: number, intervalMs: number, data: string, signal?: AbortSignal): AsyncGenerator<SlowToken> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await sleep(Math.max(0, start + (i + 1) * intervalMs - performance.now()), signal);
    yield { data };
  }
}

/** `GET /sse?n=N&interval=MS&size=S` parsed, with the bench's defaults. */
export function slowQuery(url: string | undefined): { path: string; n: number; interval: number; size: number } {
  const parsed = new URL(url ?? '/', 'http://localhost');
  const number = (name: string, fallback: number): number => {
    const value = Number(parsed.searchParams.get(name) ?? fallback);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return { path: parsed.pathname, n: number('n', 500), interval: number('interval', 20), size: number('size', 16) };
}
