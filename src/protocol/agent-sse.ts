/**
 * The native wire format of agent events: SSE with `event: <type>`, `id: <n>` and the event JSON as data.
 *
 * @module
 */
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
import type { AbortableAgentFormat } from './agent-format.ts';
import { contentBytesOf, createPadder, withSseFiller, type PaddingOption } from './padding.ts';
import { AGENT_EVENT_TYPES, isTerminalEvent, type AgentEvent, type ErrorEvent } from './types.ts';

/** Options of {@link agentSse}. */
export interface AgentSseOptions {
  /**
   * The `id:` of the first event; a resumed stream passes the last ID it replayed plus one.
   * @defaultValue 1
   */
  firstId?: number;
  /**
   * Token-length padding: a random-length SSE comment line in front of every frame that carries
   * generated content (see docs/padding.md).
   * @defaultValue off (`setDefaultPadding` changes the default; the reference server turns it on)
   */
  padding?: PaddingOption;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(AGENT_EVENT_TYPES);

/**
 * Agent events as native SSE: `event: <type>`, `id: <n>` (1, 2, 3 … within the stream, never
 * skipping) and `data: <the event JSON>`. An error after the first byte becomes an `error` event
 * with the next ID, a stream stopped from outside an `abort` event; idle streams get `: ping`
 * comments. Stateful: make one per response.
 * @param options - where numbering starts
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: agentSse() })
 * ```
 */
export function agentSse(options: AgentSseOptions = {}): AbortableAgentFormat {
  const firstId = options.firstId ?? 1;
  if (!Number.isSafeInteger(firstId) || firstId < 0) {
    throw new RangeError(`Expected \`firstId\` to be a non-negative integer, got ${String(firstId)}.`);
  }
  const padder = createPadder(options.padding);
  let nextId = firstId;
  /** Set once a `finish`, `error` or `abort` went out: a stream has one terminal event, never two. */
  let ended = false;
  function encode(event: AgentEvent): string {
    // The type goes into the `event:` field as is; only known names (no CR/LF possible) get there.
    if (!KNOWN_TYPES.has(event.type)) {
      throw new TypeError(`Expected an agent event type (${AGENT_EVENT_TYPES.join(', ')}), got ${JSON.stringify(event.type)}.`);
    }
    // JSON.stringify never emits a raw line break, so the data is always one line. It runs
    // before the id is taken: an event that cannot be encoded (a BigInt, a cycle) uses no id,
    // so the error event that follows gets the next one and ids never skip.
    const data = JSON.stringify(event);
    if (isTerminalEvent(event)) ended = true;
    const frame = `event: ${event.type}\nid: ${nextId++}\ndata: ${data}\n\n`;
    const contentBytes = padder === undefined ? undefined : contentBytesOf(event);
    return contentBytes === undefined ? frame : withSseFiller(frame, padder, contentBytes);
  }
  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat: KEEP_ALIVE_COMMENT,
    encode,
    encodeError(error) {
      if (ended) return '';
      const event: ErrorEvent = { type: 'error', code: error.code, message: error.message, retryable: false };
      return encode(event);
    },
    encodeAbort: (reason) => (ended ? '' : encode({ type: 'abort', reason })),
  };
}
