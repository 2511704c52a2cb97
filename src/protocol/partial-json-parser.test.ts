import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartialJsonError, createPartialJsonParser, parsePartialJson } from './partial-json-parser.ts';

/**
 * Whether `partial` is what a parser may show before `final` is complete: strings cut short,
 * containers with fewer members whose last member may itself be partial, scalars only whole.
 */
function isPrefixOf(partial: unknown, final: unknown): boolean {
  if (typeof final === 'string') return typeof partial === 'string' && final.startsWith(partial);
  if (Array.isArray(final)) {
    if (!Array.isArray(partial) || partial.length > final.length) return false;
    return partial.every((item, index) =>
      index < partial.length - 1 ? JSON.stringify(item) === JSON.stringify(final[index]) : isPrefixOf(item, final[index]),
    );
  }
  if (typeof final === 'object' && final !== null) {
    if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) return false;
    return Object.keys(partial).every((key) => Object.hasOwn(final, key) && isPrefixOf((partial as Record<string, unknown>)[key], (final as Record<string, unknown>)[key]));
  }
  return Object.is(partial, final);
}

/** Splits `text` at the given cut points. */
function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const fragments: string[] = [];
  let start = 0;
  for (const point of points) {
    fragments.push(text.slice(start, point));
    start = point;
  }
  fragments.push(text.slice(start));
  return fragments;
}

describe('createPartialJsonParser', () => {
  it('gives the partial input of a tool call as it streams', () => {
    const parser = createPartialJsonParser();
    parser.write('{"city":"Pa');
    expect(parser.value()).toEqual({ city: 'Pa' });
    parser.write('ris","days":[1,');
    expect(parser.value()).toEqual({ city: 'Paris', days: [1] });
    parser.write('2]}');
    expect(parser.done).toBe(true);
    expect(parser.end()).toEqual({ city: 'Paris', days: [1, 2] });
  });

  it('shows a member only once its key is complete, and scalars only once whole', () => {
    const parser = createPartialJsonParser();
    parser.write('{"ok":tr');
    expect(parser.value()).toEqual({});
    parser.write('ue,"n":12');
    expect(parser.value()).toEqual({ ok: true });
    parser.write('3,"na');
    expect(parser.value()).toEqual({ ok: true, n: 123 });
  });

  it('completes a top-level number only at the end of the text', () => {
    const parser = createPartialJsonParser();
    parser.write('-12.5e');
    parser.write('3');
    expect(parser.value()).toBeUndefined();
    expect(parser.end()).toBe(-12500);
  });

  it('decodes escapes split across fragments, surrogate pairs included', () => {
    const text = JSON.stringify({ s: 'a"b\\c\n\t/ é 😀 \u0001' }).replace('é', '\\u00e9').replace('😀', '\\ud83d\\ude00');
    for (let size = 1; size <= 4; size++) {
      const parser = createPartialJsonParser();
      for (let i = 0; i < text.length; i += size) parser.write(text.slice(i, i + size));
      expect(parser.end()).toEqual(JSON.parse(text));
    }
  });

  it('keeps __proto__ as an own member, as JSON.parse does', () => {
    const parser = createPartialJsonParser();
    parser.write('{"__proto__":{"polluted":1}}');
    const value = parser.end() as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(value).toEqual(JSON.parse('{"__proto__":{"polluted":1}}'));
  });

  it('rejects text that cannot begin JSON, with its position', () => {
    const parser = createPartialJsonParser();
    parser.write('{"a":');
    expect(() => parser.write(' x')).toThrow(PartialJsonError);
    expect(() => parser.write('1')).toThrow(/position 6/);
    expect(() => createPartialJsonParser().write('[1,]')).toThrow(PartialJsonError);
    expect(() => createPartialJsonParser().write('{"a" 1}')).toThrow(/Expected ":"/);
    expect(() => createPartialJsonParser().write('[1] 2')).toThrow(/after the end/);
    expect(() => createPartialJsonParser().write('[01]')).toThrow(/Invalid number/);
    expect(() => createPartialJsonParser().write('"\\x"')).toThrow(/Invalid escape/);
    expect(() => createPartialJsonParser().write('[1}')).toThrow(PartialJsonError);
  });

  it('rejects an incomplete text at the end', () => {
    const parser = createPartialJsonParser();
    parser.write('{"a":"b');
    expect(() => parser.end()).toThrow(/Unexpected end/);
    expect(() => createPartialJsonParser().end()).toThrow(/Unexpected end/);
  });

  it('gives the same value as JSON.parse for any JSON text cut anywhere, and a prefix of it before', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.constantFrom(undefined, 0, 2), fc.array(fc.nat(), { maxLength: 12 }), (value, indent, cuts) => {
        const text = JSON.stringify(value, null, indent);
        const final: unknown = JSON.parse(text);
        const parser = createPartialJsonParser();
        for (const fragment of split(text, cuts)) {
          parser.write(fragment);
          const partial = parser.value();
          if (partial !== undefined && !isPrefixOf(structuredClone(partial), final)) return false;
        }
        expect(parser.end()).toEqual(final);
        return true;
      }),
      { numRuns: 1000 },
    );
  });

  it('gives a prefix of the final value after every single character', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const text = JSON.stringify(value);
        const final: unknown = JSON.parse(text);
        const parser = createPartialJsonParser();
        for (const char of text) {
          parser.write(char);
          const partial = parser.value();
          expect(partial === undefined || isPrefixOf(structuredClone(partial), final)).toBe(true);
        }
        expect(parser.end()).toEqual(final);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parsePartialJson', () => {
  it('parses the start of a JSON text in one go', () => {
    expect(parsePartialJson('[{"a":"x')).toEqual([{ a: 'x' }]);
    expect(parsePartialJson('')).toBeUndefined();
  });
});
