/**
 * The reference server.
 *
 * @module
 */
export { createApp, serve } from './app.ts';
export type { App, AppOptions, AppHandler, ServeOptions } from './app.ts';
export { HttpError, sendError, sendJson } from './http-error.ts';
export { RunFailedError } from './public-errors.ts';
export { createFilesRoute, isSafeFileName, parseRange, BUNDLED_SAMPLES_DIR } from './routes/files.ts';
export type { FilesRouteOptions } from './routes/files.ts';
export type { RouteHandler, RouteContext } from './router.ts';
export { createAuth, parseApiKeys } from './auth.ts';
export type { Auth } from './auth.ts';
export { createServerMetrics } from './metrics.ts';
export type { ServerMetrics } from './metrics.ts';
export { shutdownServer } from './shutdown.ts';
export type { ShutdownOptions } from './shutdown.ts';
export { createRunManager, ABORT_REASONS } from './runs/run-manager.ts';
export type { Run, RunManager, RunManagerOptions, StartRunOptions } from './runs/run-manager.ts';
