/**
 * The web page and its assets, from the vite build in `dist/web/` (`npm run build`): `GET /`
 * (the page), `GET /assets/<file>` (its hashed JS and CSS) and `GET /favicon.svg`, each also
 * answering `HEAD`. The page is served with a Content-Security-Policy that allows no inline
 * script and no other origin; every answer has `X-Content-Type-Options: nosniff` and its real
 * content type. Only plain file names are looked up, so no path leaves the build folder. The
 * build's source maps (`*.map`) are not served unless asked for (`SLUICE_SOURCE_MAPS=on`, for
 * development): in production they would hand out the page's sources for nothing.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, quote } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';

/** The page's Content-Security-Policy: its own scripts, styles and connections only. */
export const WEB_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Headers of every answer from the web routes. */
const SECURITY_HEADERS = {
  'content-security-policy': WEB_CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  woff2: 'font/woff2',
  png: 'image/png',
};
// Plain names from the build (`index-<hash>.js`), short: nothing with a slash, a dot segment or a
// name the file system cannot hold (ENAMETOOLONG would be a 500 instead of a 404).
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;
/** File system answers that mean "no such asset". */
const NOT_THERE = new Set(['ENOENT', 'ENAMETOOLONG', 'ENOTDIR', 'EISDIR']);
// From src/server/routes/ and from dist/server/routes/ alike, the build is ../../../dist/web/.
const WEB_DIST = new URL('../../../dist/web/', import.meta.url);

async function readBuilt(path: string, shown: string): Promise<Buffer> {
  try {
    return await readFile(new URL(path, WEB_DIST));
  } catch (error) {
    if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) {
      throw new HttpError(404, 'not_found', `No asset ${quote(shown)}.`, { cause: error });
    }
    throw error;
  }
}

function send(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>): void {
  res.writeHead(200, { ...SECURITY_HEADERS, ...headers, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `GET /`: the web page. */
export const webPage: RouteHandler = async (req, res) => {
  let body: Buffer;
  try {
    body = await readBuilt('index.html', 'index.html');
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) {
      throw new HttpError(503, 'page_not_built', 'The web page is not built: run `npm run build` (it runs `vite build` into dist/web/).', { cause: error });
    }
    throw error;
  }
  send(req, res, body, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
};

/** Options of {@link createWebAssetRoute}. */
export interface WebAssetOptions {
  /** Whether `*.map` files are served (development). @defaultValue false */
  sourceMaps?: boolean;
}

/**
 * Creates `GET /assets/:file`: the page's hashed JS and CSS, cached for good (a new build has new names).
 * @param options - whether source maps are served
 * @returns the route
 */
export function createWebAssetRoute(options: WebAssetOptions = {}): RouteHandler {
  const sourceMaps = options.sourceMaps === true;
  return async (req, res, { params }) => {
    const file = params.file ?? '';
    const extension = file.slice(file.lastIndexOf('.') + 1);
    const type = extension === 'map' && !sourceMaps ? undefined : CONTENT_TYPES[extension];
    if (!ASSET_NAME.test(file) || file.includes('..') || type === undefined) throw new HttpError(404, 'not_found', `No asset ${quote(file)}.`);
    const body = await readBuilt(`assets/${file}`, file);
    send(req, res, body, { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' });
  };
}

/** `GET /assets/:file` without source maps (see {@link createWebAssetRoute}). */
export const webAsset: RouteHandler = createWebAssetRoute();

/**
 * Reads `SLUICE_SOURCE_MAPS`: `on` (or `1`, `true`) serves the page's source maps; anything else does not.
 * @param value - the variable's value
 * @returns whether source maps are served
 */
export function sourceMapsFromEnv(value: string | undefined): boolean {
  return /^(?:on|1|true)$/i.test(value?.trim() ?? '');
}

/** `GET /favicon.svg`. */
export const webFavicon: RouteHandler = async (req, res) => {
  const body = await readBuilt('favicon.svg', 'favicon.svg');
  send(req, res, body, { 'content-type': CONTENT_TYPES.svg as string, 'cache-control': 'public, max-age=86400' });
};
