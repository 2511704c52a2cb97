/**
 * Agent events as plain text: the answer's text only.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import { eventOf, type AgentFormat } from './agent-format.ts';
import { createPadder, type PaddingOption } from './padding.ts';
import type { ErrorEvent } from './types.ts';

/** The content type of {@link agentText}. */
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Options of {@link agentText}. */
export interface AgentTextOptions {
  /**
   * Token-length padding for a format that has no room for filler: the text is written in chunks
   * of exactly `textChunkBytes` UTF-8 bytes (32; a chunk may end inside a character) whatever the
   * tokens were, and each text block's remainder when the block ends. Text reaches the client that
   * much later (see docs/padding.md).
   * @defaultValue off (the reference server turns it on from `SLUICE_PADDING`)
   */
  padding?: PaddingOption;
  /**
   * The HTTP status an `error` event before the first byte is answered with. The event's own
   * `status` is the upstream's (a provider's 500, 529, 401), not one a server should repeat: a
   * server maps the event's code to its own status (the reference server: 502 for upstream
   * failures, 504 timeouts, 429 rate limited, 503 overloaded).
   * @defaultValue the event's `status` when it is 400–599, else 502
   */
  errorStatus?: (event: ErrorEvent) => number;
}

/** {@link AgentTextOptions.errorStatus}'s default. */
function upstreamStatus(event: ErrorEvent): number {
  return event.status !== undefined && event.status >= 400 && event.status <= 599 ? event.status : 502;
}

/**
 * Agent events as plain text: text deltas only, no reasoning and no tool traffic; separate text
 * blocks (an agent's steps: "Let me check…", then the answer) are set apart by a blank line. Plain text has no
 * in-band error signal, so an `error` or `abort` event (or a thrown error) after the first byte
 * aborts the transfer, and the client sees an incomplete body rather than a truncated success;
 * before the first byte it becomes a real HTTP error (its status from `errorStatus`).
 * With padding the text is written in fixed-size chunks, not as the tokens came.
 * @param options - padding, and the status of an `error` before the first byte
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: agentText() })
 * ```
 */
export function agentText(options: AgentTextOptions = {}): AgentFormat {
  // Whether text was written, and whether a block ended since: the next block starts on its own paragraph.
  let wroteText = false;
  let blockEnded = false;
  const padder = createPadder(options.padding);
  const errorStatus = options.errorStatus ?? upstreamStatus;
  const encoder = new TextEncoder();
  /** With padding: the UTF-8 bytes not written yet (less than one chunk after each call). */
  let pending = new Uint8Array(0);
  /**
   * With padding, the whole chunks of `textChunkBytes` bytes that `text` completes, as bytes: a
   * chunk may end inside a character (the client's UTF-8 decoder joins it with the next one, as it
   * does across TCP segments), so every write has exactly a multiple of the chunk size.
   * Without padding, the text as it is.
   */
  function chunks(text: string): string | Uint8Array {
    if (padder === undefined) return text;
    const added = encoder.encode(text);
    const all = new Uint8Array(pending.length + added.length);
    all.set(pending);
    all.set(added, pending.length);
    const whole = all.length - (all.length % padder.textChunkBytes);
    pending = all.slice(whole);
    return whole === 0 ? '' : all.subarray(0, whole);
  }
  function flush(): string | Uint8Array {
    const rest = pending;
    pending = new Uint8Array(0);
    return rest.length === 0 ? '' : rest;
  }
  return {
    contentType: TEXT_CONTENT_TYPE,
    encode(item) {
      const event = eventOf(item);
      if (event.type === 'text-delta') {
        const separator = blockEnded && wroteText ? '\n\n' : '';
        blockEnded = false;
        wroteText ||= event.delta !== '';
        return chunks(separator + event.delta);
      }
      if (event.type === 'text-end') {
        blockEnded = true;
        return flush();
      }
      if (event.type === 'finish') return flush();
      if (event.type === 'error') {
        throw new SluiceError(event.code, event.message, { status: errorStatus(event) });
      }
      if (event.type === 'abort') {
        throw new SluiceError('aborted', `The generation was stopped${event.reason === undefined ? '' : `: ${event.reason}`}.`, { status: 499 });
      }
      return '';
    },
    // Deliberately no encodeError: DESIGN.md says plain text aborts the transfer instead.
  };
}
