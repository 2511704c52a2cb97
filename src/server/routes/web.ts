/**
 * `GET /`, the web page, and `GET /assets/sluice/<layer>/<file>.js`: the browser-safe layers of
 * sluice's own build (core, sse, protocol), which the page imports as ES modules.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { HttpError, quote } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';
import { PAGE_HTML } from '../web/page.ts';

/** Layers the browser may load: they run on Web APIs only. */
const BROWSER_LAYERS = new Set(['core', 'sse', 'protocol']);
// Plain names, and short: a name longer than the file system's limit (255 bytes) would make
// `readFile` fail with ENAMETOOLONG, a 500 and a stack in the log instead of a 404.
const FILE_NAME = /^[a-z0-9-]{1,100}\.js$/;
/** File system answers that mean "no such asset" (a name the file system cannot hold is not there either). */
const NOT_THERE = new Set(['ENOENT', 'ENAMETOOLONG', 'ENOTDIR', 'EISDIR']);
// From src/server/routes/ and from dist/server/routes/ alike, the build is ../../../dist/.
const DIST = new URL('../../../dist/', import.meta.url);

/** The web page. */
export const webPage: RouteHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(PAGE_HTML);
};

/** One module of the browser-safe layers, from the build. */
export const browserAsset: RouteHandler = async (_req, res, { params }) => {
  const layer = params.layer ?? '';
  const file = params.file ?? '';
  // Only known folders and plain file names: no path can leave the build folder.
  if (!BROWSER_LAYERS.has(layer) || !FILE_NAME.test(file)) throw new HttpError(404, 'not_found', `No asset ${quote(`${layer}/${file}`)}.`);
  let body: Buffer;
  try {
    body = await readFile(new URL(`${layer}/${file}`, DIST));
  } catch (error) {
    if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) {
      throw new HttpError(404, 'not_found', `No asset ${quote(`${layer}/${file}`)} (is the build there? \`npm run build\`).`, { cause: error });
    }
    throw error;
  }
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', 'content-length': body.length });
  res.end(body);
};
