/**
 * The sluice app: routes on a Node `http` server.
 *
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isAbortError, isSluiceError } from '../core/errors.ts';
import { HttpError, quote, sendError, sendJson } from './http-error.ts';
import { createLimitedServer, SERVER_LIMITS_ENV, serverLimitsFromEnv, type ServerLimits } from './limits.ts';
import { Router } from './router.ts';
import { createModelRegistry, type ModelRegistry } from './models.ts';
import { chatRoutes } from './routes/chat.ts';
import { demoNumbers } from './routes/demo-numbers.ts';
import { webAsset, webFavicon, webPage } from './routes/web.ts';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Reports errors that escaped a route (they are also answered as JSON 500). @defaultValue console.error */
  onError?: (error: unknown) => void;
  /** Resolves model names. @defaultValue a registry over `process.env` */
  models?: ModelRegistry;
  /** Milliseconds between heartbeats on idle streams. @defaultValue 15000 */
  heartbeatMs?: number;
}

/** A Node request listener serving the sluice HTTP API. */
export type AppHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Builds the app's request handler.
 * @param options - app options
 * @returns a handler for `http.createServer`
 */
export function createApp(options: AppOptions = {}): AppHandler {
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  const chatOptions: Parameters<typeof chatRoutes>[0] = { models: options.models ?? createModelRegistry() };
  if (options.heartbeatMs !== undefined) chatOptions.heartbeatMs = options.heartbeatMs;
  const chat = chatRoutes(chatOptions);
  const router = new Router()
    .on('GET', '/', webPage)
    .on('HEAD', '/', webPage)
    .on('GET', '/assets/:file', webAsset)
    .on('HEAD', '/assets/:file', webAsset)
    .on('GET', '/favicon.svg', webFavicon)
    .on('HEAD', '/favicon.svg', webFavicon)
    .on('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }))
    .on('GET', '/demo/numbers', demoNumbers)
    .on('POST', '/v1/chat', chat.chat)
    .on('POST', '/api/chat', chat.aiSdk)
    .on('POST', '/v1/ag-ui', chat.agUi)
    .on('POST', '/v1/chat/completions', chat.completions)
    .on('GET', '/v1/models', chat.models);

  /** Answers an error that escaped a route; errors without a status of their own are also reported. */
  const answerError = (res: ServerResponse, error: unknown): void => {
    // An abort is the client leaving (or the stream being stopped), never a failure to report.
    if (isAbortError(error)) {
      if (!res.headersSent && !res.destroyed) sendError(res, error);
      else res.destroy();
      return;
    }
    if (!isSluiceError(error) || error.status >= 500) onError(error);
    // After the head there is no status left to give: end the transfer as failed.
    if (res.headersSent) res.destroy();
    else sendError(res, error);
  };

  return (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // Node only hands us request targets it could parse; a URL that still fails is a bad request.
      sendError(res, new HttpError(400, 'bad_request', `The request target ${quote(req.url ?? '')} is not a valid URL.`));
      return;
    }
    try {
      const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
      const result = handler(req, res, { url, params });
      if (result instanceof Promise) result.catch((error: unknown) => answerError(res, error));
    } catch (error) {
      answerError(res, error);
    }
  };
}

/**
 * Options of {@link serve}: the app's, where to listen, and the server's defences (timeouts and the
 * connection cap, each also read from its `SLUICE_*` variable; see {@link ServerLimits}).
 */
export interface ServeOptions extends AppOptions, ServerLimits {
  /** @defaultValue `process.env.PORT` or 3000 */
  port?: number;
  /** @defaultValue `process.env.HOST` or `127.0.0.1` (`0.0.0.0` exposes the server) */
  host?: string;
}

/**
 * Starts the app on a server that defends itself against slow, idle and too many clients.
 * @param options - app options, port and host, limits
 * @returns the listening server
 * @example
 * ```ts
 * const server = await serve({ port: 3000, maxConnections: 5000 });
 * ```
 */
export function serve(options: ServeOptions = {}): Promise<Server> {
  const fromEnv = serverLimitsFromEnv(process.env);
  const limits: ServerLimits = {};
  for (const key of Object.keys(SERVER_LIMITS_ENV) as (keyof ServerLimits)[]) {
    const value = options[key] ?? fromEnv[key];
    if (value !== undefined) limits[key] = value;
  }
  const server = createLimitedServer(createApp(options), limits);
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const host = options.host ?? (process.env.HOST?.trim() || '127.0.0.1');
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
