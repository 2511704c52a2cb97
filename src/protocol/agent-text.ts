/**
 * Agent events as plain text: the answer's text only.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import { eventOf, type AgentFormat } from './agent-format.ts';

/** The content type of {@link agentText}. */
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/**
 * Agent events as plain text: text deltas only, no reasoning and no tool traffic; separate text
 * blocks (an agent's steps: "Let me check…", then the answer) are set apart by a blank line. Plain text has no
 * in-band error signal, so an `error` or `abort` event (or a thrown error) after the first byte
 * aborts the transfer, and the client sees an incomplete body rather than a truncated success;
 * before the first byte it becomes a real HTTP error.
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: agentText() })
 * ```
 */
export function agentText(): AgentFormat {
  // Whether text was written, and whether a block ended since: the next block starts on its own paragraph.
  let wroteText = false;
  let blockEnded = false;
  return {
    contentType: TEXT_CONTENT_TYPE,
    encode(item) {
      const event = eventOf(item);
      if (event.type === 'text-delta') {
        const separator = blockEnded && wroteText ? '\n\n' : '';
        blockEnded = false;
        wroteText ||= event.delta !== '';
        return separator + event.delta;
      }
      if (event.type === 'text-end') {
        blockEnded = true;
        return '';
      }
      if (event.type === 'error') {
        throw new SluiceError(event.code, event.message, { status: event.status !== undefined && event.status >= 400 ? event.status : 502 });
      }
      if (event.type === 'abort') {
        throw new SluiceError('aborted', `The generation was stopped${event.reason === undefined ? '' : `: ${event.reason}`}.`, { status: 499 });
      }
      return '';
    },
    // Deliberately no encodeError: DESIGN.md says plain text aborts the transfer instead.
  };
}
