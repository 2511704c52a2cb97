/**
 * The format type of the agent codecs that have an in-band abort signal.
 *
 * @module
 */
import type { Format } from '../core/types.ts';
import type { AgentEvent } from './types.ts';

/**
 * An event of a stream's log with the id the log gave it: what a stream store's `read()` yields
 * (`StoredEvent`). Ids are 1, 2, 3 … within a stream, never skipping.
 */
export interface LoggedEvent {
  readonly id: number;
  readonly event: AgentEvent;
}

/**
 * What the agent codecs encode: a bare event, or an event of a log with its id. Codecs never
 * number events themselves; those that carry ids on the wire (the native SSE `id:` field) write
 * the log's id, and write none for a bare event.
 */
export type AgentItem = AgentEvent | LoggedEvent;

/** The event of an item (for codecs that carry no ids). */
export function eventOf(item: AgentItem): AgentEvent {
  return 'type' in item ? item : item.event;
}

/** An agent codec: encodes bare events and logged ones (see {@link AgentItem}). */
export type AgentFormat = Format<AgentItem>;

/**
 * An agent codec that can end a stream stopped from outside (its `signal`) after the head was
 * sent: `encodeAbort(reason)` gives the same bytes as encoding `{type: 'abort', reason}`, so the
 * client sees the codec's own abort signal and a clean end instead of an aborted transfer.
 * (Plain text has no such signal; `agentText()` is a plain `Format` and its transfer is aborted.)
 */
export type AbortableAgentFormat = Omit<AgentFormat, 'encodeAbort'> & {
  /**
   * Encodes the end of a stream stopped from outside, as the codec's own abort signal.
   * @param reason - why it was stopped, shown to the client where the codec has a place for it
   * @returns the bytes to write before the response ends (empty when the stream already ended)
   */
  encodeAbort(reason: string): string;
};
