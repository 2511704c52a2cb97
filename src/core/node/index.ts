/**
 * The Node adapter: the fast path onto `http.ServerResponse`.
 *
 * @module
 */
export { sendStream } from './send-stream.ts';
