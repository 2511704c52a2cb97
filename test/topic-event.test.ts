/**
 * The topic event's text, shared by the memory and the Redis store (src/store/topic-event.ts): an
 * event reads back as it was published, with `event` only when it had one, and the module stays
 * store-neutral (no client library, nothing Node-only), so either backend can import it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeTopicEvent, encodeTopicEvent } from '../src/store/topic-event.ts';

describe('the topic event text', () => {
  it('reads back as published, with its id, and `event` only when it had one', () => {
    expect(encodeTopicEvent({ data: { n: 1 } })).toBe('{"data":{"n":1}}');
    expect(encodeTopicEvent({ event: 'tick', data: 'x' })).toBe('{"event":"tick","data":"x"}');
    expect(encodeTopicEvent({ event: undefined, data: [1] } as never)).toBe('{"data":[1]}');
    for (const event of [{ data: { n: 1 } }, { event: 'tick', data: [null, 'two'] }, { data: 'plain' }]) {
      const decoded = decodeTopicEvent('7-0', encodeTopicEvent(event));
      expect(decoded).toStrictEqual({ id: '7-0', ...event });
      expect('event' in decoded).toBe('event' in event);
    }
  });

  it('gives each read its own object', () => {
    const json = encodeTopicEvent({ data: { n: 1 } });
    const first = decodeTopicEvent('1', json);
    const second = decodeTopicEvent('1', json);
    expect(second).toEqual(first);
    expect(second.data).not.toBe(first.data);
  });

  it('throws on a text that is no JSON (the Redis reader skips such an entry)', () => {
    expect(() => decodeTopicEvent('1', '{')).toThrow(SyntaxError);
  });

  it('imports no package and no Node module: shared by every backend', () => {
    const source = readFileSync(new URL('../src/store/topic-event.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((match) => match[1]);
    expect(imports.every((path) => path?.startsWith('./') === true)).toBe(true);
  });
});
