import { describe, expect, it } from 'vitest';
import { splitBody } from './split-body.ts';

const BODY = new TextEncoder().encode('event: a\ndata: 你好 🌸\n\nevent: b\ndata: {"x":1}\n\n: tail');

describe('splitBody', () => {
  it('cuts after every blank line in events mode, keeping an unterminated tail', () => {
    const chunks = splitBody(BODY, 'events').map((chunk) => new TextDecoder().decode(chunk));
    expect(chunks).toEqual(['event: a\ndata: 你好 🌸\n\n', 'event: b\ndata: {"x":1}\n\n', ': tail']);
  });
  it('gives the same random cuts for the same seed, different ones for another, always the whole body', () => {
    const a = splitBody(BODY, { seed: 5, maxBytes: 4 });
    const b = splitBody(BODY, { seed: 5, maxBytes: 4 });
    const c = splitBody(BODY, { seed: 6, maxBytes: 4 });
    expect(a.map((chunk) => chunk.length)).toEqual(b.map((chunk) => chunk.length));
    expect(a.map((chunk) => chunk.length)).not.toEqual(c.map((chunk) => chunk.length));
    for (const chunks of [a, c]) {
      expect(Buffer.concat(chunks)).toEqual(Buffer.from(BODY));
      expect(chunks.every((chunk) => chunk.length >= 1 && chunk.length <= 4)).toBe(true);
    }
  });
});
