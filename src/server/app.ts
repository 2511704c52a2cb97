/**
 * The sluice app: routes on a Node `http` server.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isSluiceError } from '../core/errors.ts';
import { HttpError, sendError, sendJson } from './http-error.ts';
import { Router } from './router.ts';
import { createModelRegistry, type ModelRegistry } from './models.ts';
import { chatRoutes } from './routes/chat.ts';
import { demoNumbers } from './routes/demo-numbers.ts';
import { browserAsset, webPage } from './routes/web.ts';

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
    .on('GET', '/assets/sluice/:layer/:file', browserAsset)
    .on('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }))
    .on('GET', '/demo/numbers', demoNumbers)
    .on('POST', '/v1/chat', chat.chat)
    .on('POST', '/api/chat', chat.aiSdk)
    .on('POST', '/v1/ag-ui', chat.agUi)
    .on('POST', '/v1/chat/completions', chat.completions)
    .on('GET', '/v1/models', chat.models);

  /** Answers an error that escaped a route; errors without a status of their own are also reported. */
  const answerError = (res: ServerResponse, error: unknown): void => {
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
      sendError(res, new HttpError(400, 'bad_request', `The request target ${JSON.stringify(req.url)} is not a valid URL.`));
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

/** Options of {@link serve}. */
export interface ServeOptions extends AppOptions {
  /** @defaultValue `process.env.PORT` or 3000 */
  port?: number;
  /** @defaultValue all interfaces */
  host?: string;
}

/**
 * Starts the app.
 * @returns the listening server
 */
export function serve(options: ServeOptions = {}): Promise<Server> {
  const server = createServer(createApp(options));
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
