/**
 * The core layer: any source to streamed bytes, with backpressure, cancellation, heartbeats and
 * errors done right. Runs on Web Streams only; the Node path (straight onto `res`, no Web Streams) is `sluice/node`.
 *
 * @module
 */
export { streamingResponse } from './streaming-response.ts';
export type { StreamingResponseOptions } from './streaming-response.ts';
export { text } from './text-format.ts';
export type { TextFormatOptions } from './text-format.ts';
export { ndjson } from './ndjson-format.ts';
export type { NdjsonFormatOptions } from './ndjson-format.ts';
export { STREAM_HEADERS, createStreamEngine, checkStreamOptions } from './stream-engine.ts';
export type { Sink, StreamEngine } from './stream-engine.ts';
export { openSource, assertSource } from './open-source.ts';
export type { PullIterator } from './open-source.ts';
export { SluiceError, isSluiceError, isAbortError, toErrorResponse, CORE_ERROR_CODES, SAFE_ERROR_MESSAGE } from './errors.ts';
export type { ErrorBody, SluiceErrorOptions } from './errors.ts';
export { sleep } from './sleep.ts';
export type { Format, Source, SourceValue, StreamOptions, StreamOutcome, StreamResult } from './types.ts';
