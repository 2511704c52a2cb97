/**
 * A small method-and-path router for the app's fixed routes, with `:param` segments.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, quote } from './http-error.ts';

/** What a handler gets besides `req` and `res`. */
export interface RouteContext {
  url: URL;
  params: Record<string, string>;
  /**
   * Who the request acts for: a hash of its API key, computed once by the app for `/v1/*` and
   * `/api/*` when auth is on; undefined otherwise.
   */
  owner?: string | undefined;
}

/** A route handler; it may answer synchronously or return a promise. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, context: RouteContext) => unknown;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

/** Routes by method and path; unknown paths get 404, known paths with another method 405. */
export class Router {
  readonly #routes: Route[] = [];

  /** Adds a route: `path` like `/v1/streams/:id`. */
  on(method: string, path: string, handler: RouteHandler): this {
    this.#routes.push({ method, segments: path.split('/').filter(Boolean), handler });
    return this;
  }

  /**
   * Adds a `GET` route and its `HEAD`. Node sends no body for `HEAD` (what the handler writes is
   * dropped), so a `GET` that only reads (a file, a page, JSON) serves both: pass no `head`. A
   * `GET` that follows or starts a stream must pass a `head` of its own that answers the headers
   * without following anything: a `HEAD` never attaches a follower or starts a generation.
   * @param path - like `/v1/streams/:id`
   * @param handler - the `GET` handler
   * @param head - the `HEAD` handler @defaultValue handler
   */
  get(path: string, handler: RouteHandler, head: RouteHandler = handler): this {
    return this.on('GET', path, handler).on('HEAD', path, head);
  }

  /** Finds the handler for a request, or throws an {@link HttpError} 404 / 405. */
  match(method: string, pathname: string): { handler: RouteHandler; params: Record<string, string> } {
    const parts = pathname.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const segment = route.segments[i] as string;
        const part = parts[i] as string;
        if (segment.startsWith(':')) {
          try {
            params[segment.slice(1)] = decodeURIComponent(part);
          } catch (error) {
            throw new HttpError(400, 'bad_request', `The path segment ${quote(part)} is not valid percent-encoding.`, { cause: error });
          }
        } else if (segment !== part) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      // HEAD is never mapped to GET here: a GET may follow or start a stream whose body nobody
      // reads. Routes that serve HEAD say so (`get()` above).
      if (route.method === method) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) {
      throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${quote(pathname)}; use ${allowed.join(' or ')}.`, { headers: { allow: allowed.join(', ') } });
    }
    throw new HttpError(404, 'not_found', `No route for ${method} ${quote(pathname)}.`);
  }
}
