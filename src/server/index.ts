/**
 * The reference server.
 *
 * @module
 */
export { createApp, serve } from './app.ts';
export type { AppOptions, AppHandler, ServeOptions } from './app.ts';
export { HttpError, sendError, sendJson } from './http-error.ts';
export { createFilesRoute, isSafeFileName, parseRange, BUNDLED_SAMPLES_DIR } from './routes/files.ts';
export type { FilesRouteOptions } from './routes/files.ts';
export type { RouteHandler, RouteContext } from './router.ts';
