/**
 * The SSE layer: encoder and format (parser and client join them here).
 *
 * @module
 */
export { encodeSse, encodeSseData, SseEncodeError, KEEP_ALIVE_COMMENT } from './encode.ts';
export type { SseMessage } from './encode.ts';
export { sse, SSE_CONTENT_TYPE } from './sse-format.ts';
export type { SseFormatOptions } from './sse-format.ts';
