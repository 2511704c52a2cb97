/**
 * What a published event may hold: JSON no deeper than {@link MAX_EVENT_DEPTH} and no larger than
 * `SLUICE_MAX_EVENT_BYTES` in UTF-8, checked at publish so that whatever is accepted can be
 * stored, replayed and encoded for every subscriber (a 50,000-deep array parses, but serializing
 * it again overflows the stack of every subscriber that gets it).
 *
 * @module
 */
import { utf8Length } from '../../core/utf8-length.ts';
import { HttpError } from '../http-error.ts';

/** The deepest nesting of arrays and objects an event's `data` may have. */
export const MAX_EVENT_DEPTH = 64;
/** The default of `SLUICE_MAX_EVENT_BYTES`: the most UTF-8 bytes of one published event's JSON. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024;

/**
 * The nesting depth of a parsed JSON value, counted without recursion (so a hostile depth cannot
 * overflow the stack here either) and given up on past `limit`.
 * @returns the depth, or `limit + 1` when it is deeper than `limit`
 */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return limit + 1;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * Checks an event's data before it is published.
 * @param data - the parsed `data`
 * @param maxBytes - the most UTF-8 bytes of its JSON
 * @returns the UTF-8 size of its JSON
 * @throws HttpError 400 `invalid_request` when it is nested deeper than {@link MAX_EVENT_DEPTH}, 413 `payload_too_large` when it is larger than `maxBytes`
 */
export function checkEventData(data: unknown, maxBytes: number): number {
  if (jsonDepth(data, MAX_EVENT_DEPTH) > MAX_EVENT_DEPTH) {
    throw new HttpError(400, 'invalid_request', `Invalid \`data\`: it is nested deeper than ${MAX_EVENT_DEPTH} arrays or objects, the most an event may be.`);
  }
  const size = utf8Length(JSON.stringify(data));
  if (size > maxBytes) {
    throw new HttpError(413, 'payload_too_large', `Invalid \`data\`: it is ${size} bytes of JSON; an event may be at most ${maxBytes} (SLUICE_MAX_EVENT_BYTES).`);
  }
  return size;
}
