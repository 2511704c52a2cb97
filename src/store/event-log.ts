/**
 * A stream's log in memory, kept small: most of a chat's events are text or reasoning deltas of
 * the block the previous delta (or its start) named, and each such delta is kept as its bare
 * string — no event object, no id, no wrapper — and rebuilt when read. Every other event is kept
 * as it came. A thousand live chats hold a few hundred thousand deltas: kept as objects, each one
 * cost three heap objects (~70 bytes) that every young-generation collection copied twice.
 *
 * @module
 */
import type { AgentEvent } from '../protocol/types.ts';
import { isPlainDelta } from './event-size.ts';

type DeltaType = 'text-delta' | 'reasoning-delta';

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
  readonly #entries: (AgentEvent | string)[] = [];
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
   */
  push(event: AgentEvent, plain = isPlainDelta(event)): void {
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
      if (typeof entry === 'string') continue;
      followEvent(cursor, entry);
      if (cursor.type !== undefined) break;
    }
    return cursor;
  }

  /**
   * The event at `index` (0-based, below `length`), read in order with `cursor` (from
   * {@link cursorAt} for the first index read, then the same object for each next one).
   */
  at(index: number, cursor: LogCursor): AgentEvent {
    const entry = this.#entries[index]!;
    if (typeof entry !== 'string') {
      followEvent(cursor, entry);
      return entry;
    }
    return { type: cursor.type!, id: cursor.id, delta: entry };
  }
}
