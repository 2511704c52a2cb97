/**
 * `GET /v1/files/:name` (and `HEAD`): files from one folder, streamed in chunks with `Range`
 * (`206`, `416`), `ETag` / `If-None-Match` (`304`), `If-Range` and `Last-Modified`, in constant
 * memory whatever the file's size. No name can leave the folder: the router decodes the name once,
 * and a name with a separator, a dot-segment, a control character, or a symlink out of the folder
 * is refused before anything is opened.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HttpError, quote } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';

/** The folder of bundled samples that the build writes: `dist/samples/` (from src/ and dist/ alike). */
export const BUNDLED_SAMPLES_DIR: URL = new URL('../../../dist/samples/', import.meta.url);

/** Longest accepted file name, in UTF-16 code units (most file systems allow 255 bytes). */
const MAX_NAME_LENGTH = 255;
/** Bytes read from disk at a time: memory per download stays about this, whatever the file's size. */
const CHUNK_BYTES = 64 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.webm': 'video/webm',
  '.mp4': 'video/mp4',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

/** Options of {@link createFilesRoute}. */
export interface FilesRouteOptions {
  /** The folder served. @defaultValue `SLUICE_FILES_DIR`, else the bundled samples */
  dir?: string | URL;
  /**
   * Ends a download whose client read nothing for this long (the socket took no byte), so that
   * stalled downloads never pile up; 0 turns it off. @defaultValue 0 (the app passes
   * `SLUICE_SEND_TIMEOUT_MS`)
   */
  sendTimeoutMs?: number;
}

/**
 * Whether a (decoded) name is a plain file name in the folder: not empty, no `/`, `\`, NUL or
 * other control characters, not `.`/`..`, no leading dot (hidden files stay hidden).
 */
export function isSafeFileName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && !name.startsWith('.') && !/[/\\\u0000-\u001f\u007f]/.test(name);
}

/** A single byte range, inclusive; `undefined` when the header is absent or not one we serve. */
type RangeResult = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * Parses a `Range` header for a file of `size` bytes (RFC 9110 §14.1.2): one `bytes=a-b`, `a-`
 * or `-n`. Several ranges, other units or malformed values are ignored (a full 200 is a valid
 * answer to those); a range that starts past the end is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    // A suffix of an empty file selects no bytes, which no Content-Range can say (`bytes 0--1/0`
    // was sent): the range is ignored and the whole, empty file answered 200 (RFC 9110 §14.2
    // lets a server ignore Range).
    if (size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Whether an `If-None-Match` list (or `*`) matches `etag`, by the weak comparison of RFC 9110 §13.1.2. */
function matchesEtag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

/**
 * Builds the files route handler (serves `GET` and `HEAD`).
 * @param options - the folder
 * @returns the route handler
 */
export function createFilesRoute(options: FilesRouteOptions = {}): RouteHandler {
  const configured = options.dir ?? process.env.SLUICE_FILES_DIR ?? BUNDLED_SAMPLES_DIR;
  const sendTimeoutMs = options.sendTimeoutMs ?? 0;
  const dir = typeof configured === 'string' ? configured : decodeURIComponent(configured.pathname);
  let root: Promise<string> | undefined;

  return async (req: IncomingMessage, res: ServerResponse, { params }) => {
    const name = params.name ?? '';
    if (!isSafeFileName(name)) {
      throw new HttpError(400, 'bad_request', 'A file name is one path segment: no "/", "\\", control characters, "." or ".." and no leading dot.');
    }
    root ??= realpath(dir).catch((error: unknown) => {
      root = undefined;
      throw new HttpError(404, 'not_found', 'The files folder does not exist (set SLUICE_FILES_DIR, or run `npm run build` for the bundled samples).', { cause: error });
    });
    const folder = await root;
    let path: string;
    try {
      path = await realpath(join(folder, name));
    } catch (error) {
      throw new HttpError(404, 'not_found', `No file named ${quote(name)}.`, { cause: error });
    }
    // A symlink inside the folder that points out of it is refused like a traversal.
    if (!path.startsWith(folder + sep)) throw new HttpError(404, 'not_found', `No file named ${quote(name)}.`);

    const handle = await open(path, 'r');
    let handedOver = false;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new HttpError(404, 'not_found', `No file named ${quote(name)}.`);
      const size = stat.size;
      const etag = `"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
      const headers: Record<string, string | number> = {
        'content-type': CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
        'accept-ranges': 'bytes',
        etag,
        'last-modified': stat.mtime.toUTCString(),
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      };
      const ifNoneMatch = req.headers['if-none-match'];
      if (ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, etag)) {
        res.writeHead(304, { etag, 'last-modified': headers['last-modified'] as string, 'cache-control': 'no-cache' });
        res.end();
        return;
      }
      // If-Range: the range applies only while the client's copy is this version (strong match).
      const ifRange = req.headers['if-range'];
      const range = ifRange === undefined || (typeof ifRange === 'string' && ifRange.trim() === etag) ? parseRange(req.headers.range, size) : undefined;
      if (range === 'unsatisfiable') {
        res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: { code: 'range_not_satisfiable', message: `The range is outside the file's ${size} bytes.` } }));
        return;
      }
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      headers['content-length'] = size === 0 ? 0 : end - start + 1;
      if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${size}`;
      res.writeHead(range === undefined ? 200 : 206, headers);
      if (req.method === 'HEAD' || size === 0) {
        res.end();
        return;
      }
      handedOver = true;
      // The read stream owns the handle from here (autoClose), and pipeline's backpressure keeps
      // memory at about one chunk; a client that leaves destroys both ends.
      const body = createReadStream('', { fd: handle, start, end, highWaterMark: CHUNK_BYTES });
      // A client that stops reading leaves the response waiting for 'drain': end it once it has
      // waited the send timeout, as streams are. (A socket timeout would not do: Node skips its
      // first expiry while writes are pending, which lets a stalled download stay twice as long.)
      const stopWatching = sendTimeoutMs > 0 ? watchDrain(res, sendTimeoutMs) : undefined;
      await pipeline(body, res).catch((error: unknown) => {
        // The client leaving mid-download is not a server error.
        if (res.destroyed || (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
        throw error;
      }).finally(stopWatching);
    } finally {
      if (!handedOver) await handle.close();
    }
  };
}

/**
 * Destroys `res` when it has waited for 'drain' for `timeoutMs` (its client stopped reading),
 * checking a few times per timeout, so it is cut between 1 and 1.25 times the timeout.
 * @returns stops watching
 */
function watchDrain(res: ServerResponse, timeoutMs: number): () => void {
  let waitingSince: number | undefined;
  const onDrain = (): void => {
    waitingSince = undefined;
  };
  const timer = setInterval(
    () => {
      if (!res.writableNeedDrain) {
        waitingSince = undefined;
        return;
      }
      const now = performance.now();
      waitingSince ??= now;
      if (now - waitingSince >= timeoutMs) res.destroy();
    },
    Math.max(10, Math.min(1_000, Math.floor(timeoutMs / 4))),
  );
  timer.unref();
  res.on('drain', onDrain);
  return () => {
    clearInterval(timer);
    res.off('drain', onDrain);
  };
}
