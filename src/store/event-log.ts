/**
 * A stream's log in memory, kept small: most of a chat's events are text or reasoning deltas of
 * the block the previous delta (or its start) named, and each such delta is kept as its bare
 * string — no event object, no id, no wrapper — and rebuilt when read. A thousand live chats hold
 * a few hundred thousand deltas: kept as objects, each one cost three heap objects (~70 bytes)
 * that every young-generation collection copied twice.
 *
 * The events that carry a value of any shape, which a client can shape (a tool call's input, a
 * tool's result, a `data` event's value, an approval request's input), are kept as their JSON text
 * ({@link packedJson}) and parsed again on each read: parsed, a JSON text of many small objects
 * (`[{},{},…]`) costs some twenty times its size in heap; kept as text it costs its size (twice
 * that at most, for text outside Latin-1). Every other event is kept as it came.
 *
 * @module
 */
import type { AgentEvent } from '../protocol/types.ts';
import { isPlainDelta } from './event-size.ts';

type DeltaType = 'text-delta' | 'reasoning-delta';

/**
 * The stream events kept as their JSON text (see the module's note). None of them names a text or
 * reasoning block, so reading bare deltas never needs what is packed.
 */
const PACKED_TYPES: ReadonlySet<string> = new Set(['tool-call', 'tool-result', 'data', 'approval-request']);

/** An event kept as its JSON text; each read parses it again (a new object per read). */
class PackedEvent {
  readonly json: string;

  constructor(json: string) {
    this.json = json;
  }
}

/**
 * The JSON text the log keeps instead of `event`, or undefined when it keeps the event itself (or
 * its bare delta). A caller that needs the text anyway (to count the event's bytes) passes it on
 * to {@link EventLog.push}, so it is built once.
 * @param event - the event
 * @param plain - whether it is a plain delta ({@link isPlainDelta})
 */
export function packedJson(event: AgentEvent, plain = isPlainDelta(event)): string | undefined {
  return !plain && PACKED_TYPES.has(event.type) ? JSON.stringify(event) : undefined;
}

/** The block a bare string continues, as the event before it left it. */
export interface LogCursor {
  type: DeltaType | undefined;
  id: string;
}

/**
 * Updates `cursor` with an event kept whole: a start or a delta names the block bare strings
 * after it continue. Push and read both go through here, so a string always reads back as the
 * event it was.
 */
export function followEvent(cursor: LogCursor, event: AgentEvent): void {
  switch (event.type) {
    case 'text-start':
    case 'text-delta':
      cursor.type = 'text-delta';
      cursor.id = event.id;
      break;
    case 'reasoning-start':
    case 'reasoning-delta':
      cursor.type = 'reasoning-delta';
      cursor.id = event.id;
      break;
    default:
      break;
  }
}

/** The events of one stream, numbered from 1. */
export class EventLog {
  readonly #entries: (AgentEvent | PackedEvent | string)[] = [];
  readonly #tail: LogCursor = { type: undefined, id: '' };

  /** The number of events (the id of the last one). */
  get length(): number {
    return this.#entries.length;
  }

  /**
   * Appends an event; its id is the new length.
   * @param event - the event
   * @param plain - whether it is a plain delta ({@link isPlainDelta}: exactly `type`, `id` and a
   *   string `delta`, so its string alone reads back as it came), when the caller knows already
   * @param packed - the event's {@link packedJson}, when the caller built it already
   */
  push(event: AgentEvent, plain = isPlainDelta(event), packed = packedJson(event, plain)): void {
    if (packed !== undefined) {
      // Names no block: the tail is left as it was.
      this.#entries.push(new PackedEvent(packed));
      return;
    }
    const tail = this.#tail;
    if (plain && event.type === tail.type && (event as { id: string }).id === tail.id) {
      this.#entries.push((event as { delta: string }).delta);
      return;
    }
    this.#entries.push(event);
    followEvent(tail, event);
  }

  /**
   * A cursor to read from index `index` (0-based) on: the block the events before it left open,
   * found by looking back to the last start or delta kept whole.
   */
  cursorAt(index: number): LogCursor {
    const cursor: LogCursor = { type: undefined, id: '' };
    for (let at = Math.min(index, this.#entries.length) - 1; at >= 0; at--) {
      const entry = this.#entries[at]!;
      if (typeof entry === 'string' || entry instanceof PackedEvent) continue;
      followEvent(cursor, entry);
      if (cursor.type !== undefined) break;
    }
    return cursor;
  }

  /**
   * The event at `index` (0-based, below `length`), read in order with `cursor` (from
   * {@link cursorAt} for the first index read, then the same object for each next one). A packed
   * event is parsed again: a new object per read.
   */
  at(index: number, cursor: LogCursor): AgentEvent {
    const entry = this.#entries[index]!;
    if (entry instanceof PackedEvent) return JSON.parse(entry.json) as AgentEvent;
    if (typeof entry !== 'string') {
      followEvent(cursor, entry);
      return entry;
    }
    return { type: cursor.type!, id: cursor.id, delta: entry };
  }
}
