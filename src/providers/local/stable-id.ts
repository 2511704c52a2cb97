/**
 * Deterministic ids for the local demo model: the same request always gets the same ids.
 *
 * @module
 */

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * A 16-hex-digit hash of `text` (two 32-bit FNV-1a hashes with different seeds). Not cryptographic:
 * it only has to make ids differ between requests and repeat for the same one.
 * @param text - what to hash
 * @returns 16 lower-case hex digits
 */
export function stableHash(text: string): string {
  return fnv1a(text, 0x811c9dc5).toString(16).padStart(8, '0') + fnv1a(text, 0x01234567).toString(16).padStart(8, '0');
}
