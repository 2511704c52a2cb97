import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/core/utf8-length.ts';
import { eventJsonBytes } from '../src/store/event-size.ts';

const jsonBytes = (event: object): number => utf8Length(JSON.stringify(event));

describe('eventJsonBytes', () => {
  it('is the UTF-8 length of the JSON text for deltas with escapes, non-ASCII, pairs and lone surrogates', () => {
    const strings = ['', 'a', ' hello', '"', '\\', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', 'ü€', '中文', '😀', 'a😀b', '\ud800', '\udc00x', '\u2028', '</script>'];
    for (const type of ['text-delta', 'reasoning-delta'] as const) {
      for (const id of ['t', 'text-1', '', '"q"', 'ü']) {
        for (const delta of strings) expect(eventJsonBytes({ type, id, delta })).toBe(jsonBytes({ type, id, delta }));
      }
    }
  });

  it('falls back to the JSON text for other shapes: extra keys, another order, undefined fields, other types', () => {
    const cases: object[] = [
      { type: 'text-delta', id: 't', delta: 'a', extra: 1 },
      { id: 't', type: 'text-delta', delta: 'a' },
      { type: 'text-delta', delta: 'a', id: 't' },
      { type: 'text-delta', id: 't', delta: 'a', providerMetadata: undefined },
      { type: 'text-delta', id: 1, delta: 'a' },
      { type: 'text-delta', id: 't', delta: 5 },
      { type: 'text-delta', id: 't' },
      { type: 'tool-call-delta', id: 't', delta: 'a' },
      { type: 'finish', finishReason: 'stop' },
      { type: 'text-delta', id: 't', delta: 'a', toJSON: () => ({ other: 'shape' }) },
      Object.assign(Object.create({ inherited: 'x' }) as object, { type: 'text-delta', id: 't', delta: 'a' }),
      { topic: 'news', data: { a: [1, 'ü'] } },
    ];
    for (const event of cases) expect(eventJsonBytes(event)).toBe(jsonBytes(event));
  });

  it('agrees with JSON.stringify on arbitrary strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.constantFrom('text-delta', 'reasoning-delta'), (id, delta, type) => {
        expect(eventJsonBytes({ type, id, delta })).toBe(jsonBytes({ type, id, delta }));
      }),
      { numRuns: 2000 },
    );
  });
});
