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
 * Whether an event is a `text-delta` or `reasoning-delta` of exactly the own keys `type`, `id` and
 * `delta`, in that order, with string values (what a model streams most): its JSON text is then
 * known without building it, and a log may keep it as its delta alone.
 */
export function isPlainDelta(event: object): event is { type: 'text-delta' | 'reasoning-delta'; id: string; delta: string } {
  const record = event as { type?: unknown; id?: unknown; delta?: unknown };
  if (typeof record.type !== 'string' || DELTA_BASE[record.type] === undefined || typeof record.id !== 'string' || typeof record.delta !== 'string') return false;
  let n = 0;
  for (const key in event) {
    if (!Object.hasOwn(event, key)) return false;
    if ((n === 0 && key !== 'type') || (n === 1 && key !== 'id') || (n === 2 && key !== 'delta') || n > 2) return false;
    n++;
  }
  return n === 3 && typeof (event as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * The UTF-8 length of `JSON.stringify(event)`.
 * @param event - an agent or topic event (plain JSON data)
 * @param plain - whether it is a plain delta ({@link isPlainDelta}), when the caller knows already
 * @returns its size in bytes, exactly as the JSON text would count it
 */
export function eventJsonBytes(event: object, plain = isPlainDelta(event)): number {
  if (plain) {
    const { type, id, delta } = event as { type: string; id: string; delta: string };
    const idBytes = plainJsonStringBytes(id);
    const deltaBytes = idBytes === -1 ? -1 : plainJsonStringBytes(delta);
    if (deltaBytes !== -1) return DELTA_BASE[type]! + idBytes + deltaBytes;
  }
  return utf8Length(JSON.stringify(event));
}
