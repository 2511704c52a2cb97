/**
 * The plain-text format: strings and bytes as they are.
 *
 * @module
 */
import type { Format } from './types.ts';

/** Options of {@link text}. */
export interface TextFormatOptions {
  /** @defaultValue `'text/plain; charset=utf-8'` */
  contentType?: string;
}

/**
 * Plain text (or any bytes): each item is written as it is. It has no in-band error signal, so an
 * error after the first byte aborts the transfer instead of ending it cleanly.
 * @example
 * ```ts
 * await streamingResponse(gen(), { format: text() })
 * ```
 */
export function text(options: TextFormatOptions = {}): Format<string | Uint8Array> {
  return {
    contentType: options.contentType ?? 'text/plain; charset=utf-8',
    encode: (item) => item,
  };
}
