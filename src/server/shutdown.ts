/**
 * Graceful shutdown of a server running the app (`sluice serve` on SIGTERM): readiness fails and
 * new streams get 503, followers are dropped so their clients resume on another instance,
 * running generations get the drain time to finish, then the server closes, within a bounded time.
 *
 * @module
 */
import type { Server } from 'node:http';
import { WRAPPED_LISTENER } from './limits.ts';

/**
 * What shutdown needs of an app serving on a server (the app of `createApp` is one). Declared here
 * rather than imported from the app, which imports this module: no import goes both ways.
 */
export interface ServedApp {
  /** Graceful shutdown of the app (see `AppHandler.shutdown`). */
  shutdown(options?: { drainMs?: number }): Promise<void>;
  /** How long its shutdown lets generations finish by default, in milliseconds. */
  readonly drainMs: number;
  /** What it says of itself at start, one line each. */
  describe(): string[];
}

/** Options of {@link shutdownServer}. */
export interface ShutdownOptions {
  /** How long running generations may take to finish. @defaultValue the app's (`SLUICE_DRAIN_MS`, else 10000) */
  drainMs?: number;
}

function isApp(listener: unknown): listener is ServedApp {
  return typeof listener === 'function' && typeof (listener as Partial<ServedApp>).shutdown === 'function';
}

/**
 * The sluice apps serving on `server` (its `request` listeners made by `createApp`).
 * @param server - a server from `serve()` or `http.createServer(createApp())`
 * @returns the apps
 */
export function appsOf(server: Server): ServedApp[] {
  // `serve()` puts the app behind the server's limits: look through that wrapper too.
  const unwrap = (listener: unknown): unknown => (listener as { [WRAPPED_LISTENER]?: unknown } | null)?.[WRAPPED_LISTENER] ?? listener;
  return server.listeners('request').map(unwrap).filter(isApp);
}

/**
 * Shuts a server down gracefully. It keeps listening while it drains, so a request that still
 * arrives gets a clear 503 (and `/readyz` 503) rather than a refused connection; then it closes
 * every connection and stops listening.
 * @param server - the server
 * @param options - the drain time
 * @returns when the server is closed
 * @example
 * ```ts
 * process.once('SIGTERM', () => void shutdownServer(server).then(() => process.exit(0)));
 * ```
 */
export async function shutdownServer(server: Server, options: ShutdownOptions = {}): Promise<void> {
  const apps = appsOf(server);
  // Idle keep-alive connections would otherwise hold the close open.
  server.closeIdleConnections();
  await Promise.all(apps.map((app) => app.shutdown(options.drainMs === undefined ? {} : { drainMs: options.drainMs })));
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The longest a shutdown may take before the process should exit anyway.
 * @param server - the server
 * @param drainMs - the drain time, when not the app's own
 * @returns milliseconds
 */
export function shutdownDeadlineMs(server: Server, drainMs?: number): number {
  const longest = Math.max(0, ...appsOf(server).map((app) => drainMs ?? app.drainMs));
  // The drain, then the aborted runs' terminal events and the store's close.
  return longest + 5000;
}
