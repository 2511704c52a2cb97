/**
 * The Node adapter: streams straight onto `http.ServerResponse`, and Web `Response`s served on Node.
 *
 * @module
 */
export { sendStream } from './send-stream.ts';
export { writeResponse } from './write-response.ts';
