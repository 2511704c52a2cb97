/**
 * Cuts a response body into the chunks the replay server writes.
 *
 * @module
 */
import { createSeededRandom } from './seeded-random.ts';

/** How a body is cut into writes. */
export type ReplayChunking =
  | 'whole'
  | 'events'
  | {
      /** Seed of the random sizes; the same seed gives the same cuts. */
      seed: number;
      /** Smallest chunk in bytes. @defaultValue 1 */
      minBytes?: number;
      /** Largest chunk in bytes. @defaultValue 32 */
      maxBytes?: number;
    };

const BLANK_LINE = Buffer.from('\n\n');

/**
 * Cuts `body` into chunks: all at once, one SSE event each (cut after every blank line), or at
 * random byte offsets, which splits UTF-8 characters and `\n\n` terminators on purpose.
 * @param body - the bytes
 * @param chunking - how to cut
 * @returns the chunks, in order, together exactly `body`
 */
export function splitBody(body: Uint8Array, chunking: ReplayChunking): Uint8Array[] {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (chunking === 'whole' || bytes.length === 0) return [bytes];
  const chunks: Uint8Array[] = [];
  if (chunking === 'events') {
    let start = 0;
    for (let end = bytes.indexOf(BLANK_LINE); end !== -1; end = bytes.indexOf(BLANK_LINE, start)) {
      chunks.push(bytes.subarray(start, end + 2));
      start = end + 2;
    }
    if (start < bytes.length) chunks.push(bytes.subarray(start));
    return chunks;
  }
  const min = Math.max(1, chunking.minBytes ?? 1);
  const max = Math.max(min, chunking.maxBytes ?? 32);
  const random = createSeededRandom(chunking.seed);
  for (let start = 0; start < bytes.length; ) {
    const size = min + Math.floor(random() * (max - min + 1));
    chunks.push(bytes.subarray(start, start + size));
    start += size;
  }
  return chunks;
}
