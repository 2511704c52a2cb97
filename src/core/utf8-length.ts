/**
 * The UTF-8 length of a string without encoding it.
 *
 * @module
 */

/**
 * Counts the bytes `text` takes in UTF-8, as `TextEncoder` writes it (a lone surrogate becomes
 * U+FFFD, 3 bytes). One pass of `charCodeAt`, no allocation: cheap enough for every item, where
 * encoding each one (or Node's `Buffer.byteLength`, which core cannot use) would not be.
 * @param text - any string
 * @returns its length in UTF-8 bytes
 */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two code units, four bytes.
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
