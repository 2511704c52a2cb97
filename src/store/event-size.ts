/**
 * The size a store's byte bound counts for an event: the UTF-8 length of its JSON text, computed
 * without building the text for the event a model streams most (a `text-delta` or
 * `reasoning-delta` of plain text), since the memory store needs only the number.
 *
 * @module
 */
import { utf8Length } from '../core/utf8-length.ts';

/** `{"type":"<type>","id":"","delta":""}` without its two empty strings' quotes, per delta type. */
const DELTA_BASE: Readonly<Record<string, number>> = {
  'text-delta': JSON.stringify({ type: 'text-delta', id: '', delta: '' }).length - 4,
  'reasoning-delta': JSON.stringify({ type: 'reasoning-delta', id: '', delta: '' }).length - 4,
};

/**
 * The UTF-8 length of `value` as a JSON string, quotes included, or -1 when a character needs an
 * escape (`"`, `\`, a control character) or is a surrogate (a pair, or a lone one JSON escapes):
 * then only `JSON.stringify` knows.
 */
function plainJsonStringBytes(value: string): number {
  let bytes = 2;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) {
      if (code < 0x20 || code === 0x22 || code === 0x5c) return -1;
      bytes += 1;
    } else if (code < 0x800) {
      bytes += 2;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      return -1;
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/**
 * The UTF-8 length of `JSON.stringify(event)`.
 * @param event - an agent or topic event (plain JSON data)
 * @returns its size in bytes, exactly as the JSON text would count it
 */
export function eventJsonBytes(event: object): number {
  const delta = deltaBytes(event);
  return delta === -1 ? utf8Length(JSON.stringify(event)) : delta;
}

/** The size of a `{ type, id, delta }` delta of plain strings, in that key order; else -1. */
function deltaBytes(event: object): number {
  const record = event as { type?: unknown; id?: unknown; delta?: unknown };
  const base = typeof record.type === 'string' ? DELTA_BASE[record.type] : undefined;
  if (base === undefined || typeof record.id !== 'string' || typeof record.delta !== 'string') return -1;
  // Exactly these three own keys in this order, as JSON.stringify would write them.
  let n = 0;
  for (const key in event) {
    if (!Object.hasOwn(event, key)) return -1;
    if ((n === 0 && key !== 'type') || (n === 1 && key !== 'id') || (n === 2 && key !== 'delta') || n > 2) return -1;
    n++;
  }
  if (n !== 3 || typeof (event as { toJSON?: unknown }).toJSON === 'function') return -1;
  const id = plainJsonStringBytes(record.id);
  if (id === -1) return -1;
  const text = plainJsonStringBytes(record.delta);
  return text === -1 ? -1 : base + id + text;
}
