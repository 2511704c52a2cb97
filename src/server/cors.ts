/**
 * CORS for browsers on other origins, from `SLUICE_CORS_ORIGINS` (comma-separated origins, or
 * `*`; none by default). A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an
 * allowed origin gets `204` with the allowed methods and headers; every response to an allowed
 * origin, streaming and error responses included, carries `Access-Control-Allow-Origin` and
 * exposes `x-stream-id`. A request from any other origin gets no CORS headers at all, so the
 * browser refuses it.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Methods a preflight allows: every method of the HTTP API. */
export const CORS_ALLOW_METHODS = 'GET, HEAD, POST, DELETE, OPTIONS';
/** Request headers a preflight allows: JSON bodies, both auth headers, and resume. */
export const CORS_ALLOW_HEADERS = 'content-type, authorization, x-api-key, last-event-id';
/** Response headers a page may read: the stream id it resumes and stops with. */
export const CORS_EXPOSE_HEADERS = 'x-stream-id';
/** How long a browser may cache a preflight, in seconds (Chromium caps it at 7200). */
export const CORS_MAX_AGE_SECONDS = 7200;

/** The CORS policy of an app. */
export interface Cors {
  /** The allowed origins (`*` for any); empty when CORS is off. */
  readonly origins: readonly string[];
  /**
   * Sets the CORS headers a response to `req` gets (before any route writes its head, so error
   * responses keep them) and answers a preflight.
   * @returns true when the request was a preflight and has been answered
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * Parses `SLUICE_CORS_ORIGINS`: comma-separated origins (`https://app.example.com`), or `*`.
 * @param value - the variable's value
 * @returns the origins, normalized (`new URL(origin).origin`)
 * @throws RangeError for an entry that is not an origin
 */
export function parseCorsOrigins(value: string | undefined): string[] {
  const origins: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*') {
      origins.push('*');
      continue;
    }
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      // Reported below with the expected form.
    }
    if (origin === undefined || origin === 'null') {
      throw new RangeError(`Expected SLUICE_CORS_ORIGINS to list origins like "https://app.example.com" (comma-separated) or "*", got ${JSON.stringify(entry)}.`);
    }
    origins.push(origin);
  }
  return origins;
}

/**
 * Creates the CORS policy of an app.
 * @param origins - allowed origins (see {@link parseCorsOrigins}); none turns CORS off
 * @returns the policy
 */
export function createCors(origins: readonly string[]): Cors {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return {
    origins,
    handle(req, res) {
      if (origins.length === 0) return false;
      // The answer depends on Origin: caches must keep one copy per origin.
      if (!any) res.setHeader('vary', 'origin');
      const origin = req.headers.origin;
      const match = origin !== undefined && (any || allowed.has(origin));
      if (match) {
        res.setHeader('access-control-allow-origin', any ? '*' : origin);
        res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
      }
      const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
      if (!preflight || !match) return false;
      res.writeHead(204, {
        'access-control-allow-methods': CORS_ALLOW_METHODS,
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
        'content-length': '0',
      });
      res.end();
      return true;
    },
  };
}
