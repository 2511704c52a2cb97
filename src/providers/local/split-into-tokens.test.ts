import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitIntoTokens, tokensOf } from './split-into-tokens.ts';

const isLoneSurrogateAt = (piece: string, index: number): boolean => {
  const code = piece.charCodeAt(index);
  return code >= 0xd800 && code <= 0xdfff;
};

describe('splitIntoTokens', () => {
  it('gives pieces that concatenate to the input, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        expect(splitIntoTokens(text).join('')).toBe(text);
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
      expect(splitIntoTokens(text).join('')).toBe(text);
    }));
  });

  it('never splits a surrogate pair or leaves an empty piece', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        for (const piece of splitIntoTokens(text)) {
          expect(piece).not.toBe('');
          // A piece may not start with a low surrogate or end with a high one.
          if (isLoneSurrogateAt(piece, 0)) expect(piece.charCodeAt(0)).toBeLessThan(0xdc00);
          if (isLoneSurrogateAt(piece, piece.length - 1)) expect(piece.charCodeAt(piece.length - 1)).toBeGreaterThanOrEqual(0xdc00);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps short words whole with their leading space and cuts long ones', () => {
    expect(splitIntoTokens('The model streams backpressure.')).toEqual([
      'The',
      ' model',
      ' streams',
      ' back',
      'pres',
      'sure',
      '.',
    ]);
  });

  it('sends Chinese two characters at a time and keeps emoji sequences, flags and keycaps whole', () => {
    expect(splitIntoTokens('流式响应很重要')).toEqual(['流式', '响应', '很重', '要']);
    expect(splitIntoTokens('ok 👩‍👩‍👧 👍🏽 🇫🇷 1️⃣')).toEqual(['ok', ' 👩‍👩‍👧', ' 👍🏽', ' 🇫🇷', ' 1️⃣']);
  });

  it('keeps combining marks with their letter and line breaks as their own pieces', () => {
    const word = 'e\u0301'.repeat(9);
    const pieces = splitIntoTokens(`${word}\n\nnext`);
    expect(pieces.join('')).toBe(`${word}\n\nnext`);
    for (const piece of pieces) expect(piece.startsWith('\u0301')).toBe(false);
    expect(pieces).toContain('\n\n');
  });

  it('makes the pieces one at a time: reading a few does not split the rest', () => {
    const text = 'Backpressure matters. '.repeat(1000);
    const tokens = tokensOf(text);
    expect([tokens.next().value, tokens.next().value, tokens.next().value, tokens.next().value]).toEqual(['Back', 'pres', 'sure', ' matters']);
    expect(splitIntoTokens(text).slice(0, 4)).toEqual(['Back', 'pres', 'sure', ' matters']);
  });

  it('returns no pieces for the empty string', () => {
    expect(splitIntoTokens('')).toEqual([]);
  });
});
