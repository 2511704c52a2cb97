/**
 * The source every runtime server in `servers/` streams, and the test's hold on it. `GET
 * /story?id=X` yields `first`, then waits for the line `open X` on stdin (the gate the test opens)
 * before `second`; its `finally` prints `finally X` to stdout (the side channel that shows a
 * disconnect reached it). `&fail` throws a `SluiceError` with status 503 before the first byte.
 * Runtime-neutral: Node, Bun and Deno all run it.
 */
import process from 'node:process';
import { createInterface } from 'node:readline';
import { SluiceError, type Source } from 'sluice';

const opened = new Set<string>();
const waiting = new Map<string, () => void>();

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, id = ''] = line.split(' ');
  if (command !== 'open') return;
  opened.add(id);
  waiting.get(id)?.();
});

/** Resolves when the test opens the gate `id`; rejects when `signal` aborts (the client left). */
function gate(id: string, signal: AbortSignal): Promise<void> {
  if (opened.has(id)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    waiting.set(id, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * The story for a request.
 * @param url - the request's URL, absolute or a path with its query
 * @returns a sluice source
 */
export function story(url: string): Source<string> {
  const params = new URL(url, 'http://localhost').searchParams;
  const id = params.get('id') ?? '';
  // A generator suspended in an `await` only sees `return()` at its next `yield`: waits must
  // take the signal, which aborts the moment the client leaves.
  return async function* (signal: AbortSignal) {
    try {
      if (params.has('fail')) throw new SluiceError('story_unavailable', `Story ${id} is not available.`, { status: 503 });
      yield `first ${id}\n`;
      await gate(id, signal);
      yield `second ${id}\n`;
    } finally {
      console.log(`finally ${id}`);
    }
  };
}
