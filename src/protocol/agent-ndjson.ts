/**
 * Agent events as NDJSON: one event object per line.
 *
 * @module
 */
import { eventOf, type AbortableAgentFormat } from './agent-format.ts';
import { isTerminalEvent, type AgentEvent, type ErrorEvent } from './types.ts';

/** The content type of {@link agentNdjson}. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/**
 * Agent events as newline-delimited JSON, one event object per line. An error after the first byte
 * becomes a last `{"type":"error",…}` line and a stream stopped from outside a last
 * `{"type":"abort",…}` line, so readers see ordinary events.
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: agentNdjson() })
 * ```
 */
export function agentNdjson(): AbortableAgentFormat {
  /** Set once a `finish`, `error` or `abort` went out: a stream has one terminal event, never two. */
  let ended = false;
  /** One event as one line (JSON.stringify never emits a raw line break). */
  function line(event: AgentEvent): string {
    const text = JSON.stringify(event) + '\n';
    if (isTerminalEvent(event)) ended = true;
    return text;
  }
  return {
    contentType: NDJSON_CONTENT_TYPE,
    // A line is the event object as is, with no id: a logged event is encoded as its event.
    encode: (item) => line(eventOf(item)),
    encodeError(error) {
      if (ended) return '';
      const event: ErrorEvent = { type: 'error', code: error.code, message: error.message, retryable: false };
      return line(event);
    },
    encodeAbort: (reason) => (ended ? '' : line({ type: 'abort', reason })),
  };
}
