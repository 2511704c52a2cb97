/**
 * A small seeded pseudo-random generator, so a failing split can be replayed exactly.
 *
 * @module
 */

/**
 * mulberry32: 32-bit state, good enough to choose chunk sizes.
 * @param seed - any integer
 * @returns a function giving numbers in [0, 1)
 */
export function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
