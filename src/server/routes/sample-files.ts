/**
 * The server's default `GET /v1/files/:name`: the samples that ship in `dist/samples/` (a short
 * video, `hello.txt`), and `large-sample.bin`, the page's 64 MiB download, which is not shipped
 * (it would be most of the package) but written on its first request into a cache folder outside
 * the package, the same bytes every time. Both are served by {@link createFilesRoute}.
 *
 * @module
 */
import { lstat, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';
import { BUNDLED_SAMPLES_DIR, createFilesRoute } from './files.ts';
import { loopWebm } from './sample-video.ts';

/** The page's long demo video, made on first use from the shipped short one (see {@link loopWebm}). */
export const LONG_VIDEO_NAME = 'sample-video-long.webm';
/** The shipped short video it is made from. */
const SHORT_VIDEO_NAME = 'sample-video.webm';
/** How many times the 12 s video plays in the long one: 5 minutes, about 5.3 MB. */
export const LONG_VIDEO_LOOPS = 25;

/** The generated sample's name. */
export const LARGE_SAMPLE_NAME = 'large-sample.bin';
/** Its size: 64 MiB. */
export const LARGE_SAMPLE_BYTES = 64 * 1024 * 1024;
/** Written in blocks of this size, so generating it takes little memory. */
const BLOCK_BYTES = 1024 * 1024;

/**
 * The byte at `offset` of the large sample: a function of the offset alone, so a client can check
 * any range it received.
 */
export function largeSampleByte(offset: number): number {
  return offset % 251;
}

/** Where the large sample is written by default: a folder of this user's under the OS's temp folder. */
export function defaultSamplesCacheDir(): string {
  return join(tmpdir(), `sluice-samples-${process.getuid?.() ?? 'user'}`);
}

/**
 * Makes the cache folder (mode 0700) and checks it is this user's own: a real folder, not a
 * symbolic link, owned by this process's user and writable by nobody else. The default folder has a
 * predictable name in the shared temp folder, so another local user could create it first and put
 * their own files (or a link elsewhere) in it; `mkdir` with `recursive` accepts a folder that exists,
 * whoever made it. Where there are no user ids (Windows), the folder is only checked to be a folder.
 * @throws HttpError 500 `samples_cache_unsafe` naming the folder and what is wrong with it
 */
async function ownCacheDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    // A file (or a link to one) where the folder should be: refused below, with the reason.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  const found = await lstat(dir);
  const uid = process.getuid?.();
  const problem = !found.isDirectory()
    ? 'is not a folder (a symbolic link or a file)'
    : uid !== undefined && found.uid !== uid
      ? `belongs to user ${found.uid}, not to this process's user ${uid}`
      : uid !== undefined && (found.mode & 0o022) !== 0
        ? `is writable by other users (mode ${(found.mode & 0o777).toString(8)})`
        : undefined;
  if (problem !== undefined) {
    throw new HttpError(500, 'samples_cache_unsafe', `The samples cache folder ${dir} ${problem}: remove it (another user may have made it), or set TMPDIR to a folder of your own.`);
  }
}

/** Whether a complete large sample is at `path`. */
async function hasLargeSample(path: string): Promise<boolean> {
  const existing = await stat(path).catch(() => undefined);
  return existing?.isFile() === true && existing.size === LARGE_SAMPLE_BYTES;
}

/**
 * Writes the large sample to `path`: into a temporary file first, renamed into place, so a reader
 * (or another process writing it at the same time) never sees a partial file.
 */
async function writeLargeSample(path: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const block = new Uint8Array(BLOCK_BYTES);
  const file = await open(temporary, 'w');
  try {
    for (let offset = 0; offset < LARGE_SAMPLE_BYTES; offset += BLOCK_BYTES) {
      for (let i = 0; i < BLOCK_BYTES; i++) block[i] = largeSampleByte(offset + i);
      await file.write(block);
    }
    await file.close();
    await rename(temporary, path);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes the long video to `path` (through a temporary file renamed into place). */
async function writeLongVideo(path: string): Promise<void> {
  const bytes = loopWebm(await readFile(new URL(SHORT_VIDEO_NAME, BUNDLED_SAMPLES_DIR)), LONG_VIDEO_LOOPS);
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Options of {@link createSampleFilesRoute}. */
export interface SampleFilesRouteOptions {
  /** Where `large-sample.bin` is written on first use. @defaultValue {@link defaultSamplesCacheDir} */
  cacheDir?: string;
  /** As {@link FilesRouteOptions.sendTimeoutMs}. */
  sendTimeoutMs?: number;
}

/**
 * Builds the route that serves the bundled samples, generating `large-sample.bin` on its first
 * request (concurrent first requests wait for the same write).
 * @param options - the cache folder and the send timeout
 * @returns the route handler (`GET` and `HEAD`)
 */
export function createSampleFilesRoute(options: SampleFilesRouteOptions = {}): RouteHandler {
  const cacheDir = options.cacheDir ?? defaultSamplesCacheDir();
  const sendTimeoutMs = options.sendTimeoutMs ?? 0;
  const shipped = createFilesRoute({ dir: BUNDLED_SAMPLES_DIR, sendTimeoutMs });
  const generated = createFilesRoute({ dir: cacheDir, sendTimeoutMs });
  const path = join(cacheDir, LARGE_SAMPLE_NAME);
  const videoPath = join(cacheDir, LONG_VIDEO_NAME);
  let writing: Promise<void> | undefined;
  let writingVideo: Promise<void> | undefined;

  return async (req, res, context) => {
    // Made and checked on every request (one lstat), before anything is read from or written to it:
    // the folder may be removed (a temp-folder cleaner) and made again by someone else meanwhile.
    if (context.params.name === LONG_VIDEO_NAME || context.params.name === LARGE_SAMPLE_NAME) await ownCacheDir(cacheDir);
    if (context.params.name === LONG_VIDEO_NAME) {
      if ((await stat(videoPath).catch(() => undefined))?.isFile() !== true) {
        writingVideo ??= writeLongVideo(videoPath).finally(() => {
          writingVideo = undefined;
        });
        await writingVideo;
      }
      return generated(req, res, context);
    }
    if (context.params.name !== LARGE_SAMPLE_NAME) return shipped(req, res, context);
    // Checked on every request, so a temp-folder cleaner deleting it costs one more write, not a 404.
    if (!(await hasLargeSample(path))) {
      writing ??= writeLargeSample(path).finally(() => {
        writing = undefined;
      });
      await writing;
    }
    return generated(req, res, context);
  };
}
