/**
 * The reference server.
 *
 * @module
 */
export { createApp, serve } from './app.ts';
export type { AppOptions, AppHandler, ServeOptions } from './app.ts';
export { HttpError, sendError, sendJson } from './http-error.ts';
