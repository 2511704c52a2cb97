/**
 * The NDJSON format: one JSON value per line.
 *
 * @module
 */
import type { Format } from './types.ts';

/** Options of {@link ndjson}. */
export interface NdjsonFormatOptions {
  /** @defaultValue `'application/x-ndjson'` */
  contentType?: string;
  /**
   * Sent while idle. Off by default: an empty line is ignored by most NDJSON readers but not all.
   * @defaultValue undefined
   */
  heartbeat?: '\n';
}

/**
 * Newline-delimited JSON: each item is `JSON.stringify`-ed onto its own line. An error after the
 * first byte is sent as a last line `{"error":{"code","message"}}`.
 * @example
 * ```ts
 * await streamingResponse(rows(), { format: ndjson() })
 * ```
 */
export function ndjson(options: NdjsonFormatOptions = {}): Format<unknown> {
  const format: Format<unknown> = {
    contentType: options.contentType ?? 'application/x-ndjson',
    encode(item) {
      const line = JSON.stringify(item);
      if (line === undefined) {
        throw new TypeError(`Expected a JSON value for an NDJSON line, got ${typeof item}.`);
      }
      return line + '\n';
    },
    encodeError: (error) => JSON.stringify({ error }) + '\n',
  };
  return options.heartbeat === undefined ? format : { ...format, heartbeat: options.heartbeat };
}
