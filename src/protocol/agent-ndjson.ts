/**
 * Agent events as NDJSON: one event object per line.
 *
 * @module
 */
import type { Format } from '../core/types.ts';
import type { AgentEvent } from './types.ts';

/** The content type of {@link agentNdjson}. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/**
 * Agent events as newline-delimited JSON, one event object per line. An error after the first byte
 * becomes a last `{"type":"error",…}` line, so readers see an ordinary `error` event.
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: agentNdjson() })
 * ```
 */
export function agentNdjson(): Format<AgentEvent> {
  return {
    contentType: NDJSON_CONTENT_TYPE,
    encode: (event) => JSON.stringify(event) + '\n',
    encodeError: (error) =>
      `{"type":"error","code":${JSON.stringify(error.code)},"message":${JSON.stringify(error.message)},"retryable":false}\n`,
  };
}
