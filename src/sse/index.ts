/**
 * The SSE layer: encoder and format, spec-exact parser, and the fetch-based client with reconnection.
 *
 * @module
 */
export { encodeSse, encodeSseData, SseEncodeError, KEEP_ALIVE_COMMENT } from './encode.ts';
export type { SseMessage } from './encode.ts';
export { sse, SSE_CONTENT_TYPE } from './sse-format.ts';
export type { SseFormatOptions } from './sse-format.ts';
export { createParser } from './parse.ts';
export { SseParserStream } from './parser-stream.ts';
export type { SseParserStreamOptions } from './parser-stream.ts';
export { fetchEventStream, defaultResumeUrl, STREAM_ID_HEADER } from './client.ts';
export type { FetchEventStreamOptions, ReconnectInfo } from './client.ts';
export { SseParseError, SseHttpError, SseContentTypeError, SseConnectionError, SSE_ERROR_CODES } from './errors.ts';
export type { SseParseErrorType } from './errors.ts';
export type { SseEvent, EventSourceParser, ParserCallbacks, ParserOptions } from './types.ts';
