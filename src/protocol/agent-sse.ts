/**
 * The native wire format of agent events: SSE with `event: <type>`, `id: <n>` and the event JSON as data.
 *
 * @module
 */
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
import type { AbortableAgentFormat, AgentItem } from './agent-format.ts';
import { AGENT_EVENT_TYPES, isTerminalEvent, type AgentEvent, type ErrorEvent } from './types.ts';

const KNOWN_TYPES: ReadonlySet<string> = new Set(AGENT_EVENT_TYPES);

/**
 * Agent events as native SSE: `event: <type>`, `id: <n>` and `data: <the event JSON>`; idle
 * streams get `: ping` comments. Stateful: make one per response.
 *
 * Ids come from a log, never from the codec. An event of a stream's log (`{ id, event }`, what a
 * stream store's `read()` yields) goes out with `id: <its id in the log>`, the same in every
 * response that carries it, so a client resuming with `Last-Event-ID` gets the events with a
 * greater id. A bare event (a stream not from a store) goes out with no `id:` line: there is no
 * log to resume from, and a number the codec made up would promise a resume nobody can honour.
 * An error after the first byte becomes an `error` event and a stream stopped from outside an
 * `abort` event; both exist in this response only, so they carry no id either (a client's
 * `Last-Event-ID` stays at the last logged event, and its next resume skips nothing).
 * @returns a fresh format for one response
 * @example
 * ```ts
 * // Events of a store's log, with their ids:
 * await sendStream(res, (signal) => store.read(id, { after, signal }), { format: agentSse() })
 * // Bare events (no ids):
 * await sendStream(res, events, { format: agentSse() })
 * ```
 */
export function agentSse(): AbortableAgentFormat {
  /** Set once a `finish`, `error` or `abort` went out: a stream has one terminal event, never two. */
  let ended = false;
  function frame(event: AgentEvent, id: number | undefined): string {
    // The type goes into the `event:` field as is; only known names (no CR/LF possible) get there.
    if (!KNOWN_TYPES.has(event.type)) {
      throw new TypeError(`Expected an agent event type (${AGENT_EVENT_TYPES.join(', ')}), got ${JSON.stringify(event.type)}.`);
    }
    // JSON.stringify never emits a raw line break, so the data is always one line.
    const data = JSON.stringify(event);
    if (isTerminalEvent(event)) ended = true;
    return id === undefined ? `event: ${event.type}\ndata: ${data}\n\n` : `event: ${event.type}\nid: ${id}\ndata: ${data}\n\n`;
  }
  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat: KEEP_ALIVE_COMMENT,
    encode(item: AgentItem) {
      if ('type' in item) return frame(item, undefined);
      const { id } = item;
      if (!(Number.isSafeInteger(id) && id >= 1)) throw new TypeError(`Expected a logged event's id to be an integer ≥ 1, got ${String(id)}.`);
      return frame(item.event, id);
    },
    encodeError(error) {
      if (ended) return '';
      const event: ErrorEvent = { type: 'error', code: error.code, message: error.message, retryable: false };
      return frame(event, undefined);
    },
    encodeAbort: (reason) => (ended ? '' : frame({ type: 'abort', reason }, undefined)),
  };
}
