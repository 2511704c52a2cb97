/**
 * Agent events as plain text: the answer's text only.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import type { Format } from '../core/types.ts';
import { createPadder, type PaddingOption } from './padding.ts';
import type { AgentEvent } from './types.ts';

/** The content type of {@link agentText}. */
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Options of {@link agentText}. */
export interface AgentTextOptions {
  /**
   * Token-length padding for a format that has no room for filler: the text is written in chunks
   * of `textChunkBytes` UTF-8 bytes (32; cut at a character boundary, so up to 3 fewer) whatever
   * the tokens were, and each text block's remainder when the block ends. Text reaches the client
   * that much later (see docs/padding.md).
   * @defaultValue off (`setDefaultPadding` changes the default; the reference server turns it on)
   */
  padding?: PaddingOption;
}

/**
 * Where to cut `text` so the first piece takes at most `maxBytes` UTF-8 bytes without splitting a
 * character (at least one character, so a piece always moves on).
 * @returns the index to cut at, or -1 when the whole text fits
 */
function cutAt(text: string, maxBytes: number): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) return i === 0 ? (pair ? 2 : 1) : i;
    bytes += size;
    if (pair) i++;
  }
  return -1;
}

/**
 * Agent events as plain text: text deltas only, no reasoning and no tool traffic; separate text
 * blocks (an agent's steps: "Let me check…", then the answer) are set apart by a blank line. Plain text has no
 * in-band error signal, so an `error` or `abort` event (or a thrown error) after the first byte
 * aborts the transfer, and the client sees an incomplete body rather than a truncated success;
 * before the first byte it becomes a real HTTP error.
 * With padding the text is written in fixed-size chunks, not as the tokens came.
 * @param options - padding
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: agentText() })
 * ```
 */
export function agentText(options: AgentTextOptions = {}): Format<AgentEvent> {
  const padder = createPadder(options.padding);
  /** With padding: text not written yet, less than one chunk of it. */
  let pending = '';
  /** With padding: the full chunks in `pending` (and what stays); without: the text as it is. */
  function chunks(text: string): string {
    if (padder === undefined) return text;
    pending += text;
    let out = '';
    for (let cut = cutAt(pending, padder.textChunkBytes); cut !== -1; cut = cutAt(pending, padder.textChunkBytes)) {
      out += pending.slice(0, cut);
      pending = pending.slice(cut);
    }
    return out;
  }
  function flush(): string {
    const rest = pending;
    pending = '';
    return rest;
  }
  // Whether text was written, and whether a block ended since: the next block starts on its own paragraph.
  let wroteText = false;
  let blockEnded = false;
  return {
    contentType: TEXT_CONTENT_TYPE,
    encode(event) {
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
