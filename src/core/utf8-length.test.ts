import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from './utf8-length.ts';

describe('utf8Length', () => {
  it('counts ASCII, two-, three- and four-byte characters and lone surrogates as TextEncoder encodes them', () => {
    for (const text of ['', 'abc', 'é', '数字', '😀', 'a😀b', '\ud800', '\udc00x', '\ud800\ud800']) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).byteLength);
    }
  });

  it('agrees with TextEncoder on any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => utf8Length(text) === new TextEncoder().encode(text).byteLength));
  });
});
