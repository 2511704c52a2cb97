import { describe, expect, it } from 'vitest';
import { memoizeByText } from './memo.ts';

describe('memoizeByText', () => {
  it('computes each text once while it is kept, and drops the least recently used first', () => {
    const calls: string[] = [];
    const length = memoizeByText((text) => {
      calls.push(text);
      return text.length;
    }, 2);
    expect(length('aa')).toBe(2);
    expect(length('bbb')).toBe(3);
    expect(length('aa')).toBe(2); // a hit: 'aa' is now the most recently used
    expect(length('c')).toBe(1); // evicts 'bbb', not 'aa'
    expect(length('aa')).toBe(2);
    expect(length('bbb')).toBe(3); // computed again
    expect(calls).toEqual(['aa', 'bbb', 'c', 'bbb']);
  });

  it('keeps the empty text and results that are falsy', () => {
    let calls = 0;
    const zero = memoizeByText(() => {
      calls++;
      return 0;
    }, 1);
    expect(zero('')).toBe(0);
    expect(zero('')).toBe(0);
    expect(calls).toBe(1);
  });

  it('refuses a size that keeps nothing', () => {
    expect(() => memoizeByText((text) => text, 0)).toThrow(RangeError);
    expect(() => memoizeByText((text) => text, 1.5)).toThrow(RangeError);
  });
});
