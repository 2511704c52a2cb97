/**
 * Token-length padding: random-length filler added to every frame that carries generated content
 * (text, reasoning and tool-call deltas, a tool call's whole input), so that the byte size of a
 * frame no longer tells an observer of the encrypted traffic how long the token in it was
 * (Weiss et al., "What Was Your Prompt?", 2024; Microsoft, "Whisper Leak", 2025).
 *
 * Design: a frame whose content takes `c` bytes (as serialized: JSON escapes counted) is given
 * `T − c` bytes of filler, where `T` is drawn uniformly from the bucket above `c`:
 * `[(⌊c/B⌋ + 1)·B, (⌊c/B⌋ + 2)·B)` with `B` = {@link PaddingOptions.bucketBytes} (32). Every
 * content shorter than `B` bytes (nearly every real token) therefore gives a frame whose size is
 * independent of it; longer content leaks only its bucket. Each codec puts the filler where its
 * clients ignore it (see docs/padding.md): an SSE comment line, OpenAI's own `obfuscation` field,
 * JSON whitespace in NDJSON; plain text is cut into fixed-size chunks instead.
 *
 * @module
 */
import { utf8Length } from '../core/utf8-length.ts';
import type { AgentEvent } from './types.ts';

/** Options of the padding; `true` means all defaults. */
export interface PaddingOptions {
  /**
   * The bucket size in bytes: content is padded to a random size in the bucket above its own.
   * Content shorter than this leaks nothing through its size. An integer from 1 to 256.
   * @defaultValue 32
   */
  bucketBytes?: number;
  /**
   * Plain text only: the text is written in chunks of exactly this many UTF-8 bytes (a chunk may
   * end inside a character), each text block's remainder when the block ends.
   * @defaultValue 32
   */
  textChunkBytes?: number;
  /**
   * Fills an array with random bytes (for the filler's length and characters). Tests pass a seeded
   * one. @defaultValue `crypto.getRandomValues`
   */
  random?: (bytes: Uint8Array<ArrayBuffer>) => void;
}

/** Padding on (`true` or options) or off (`false`). */
export type PaddingOption = boolean | PaddingOptions;

/** What a codec asks of the padding. */
export interface Padder {
  /** The bucket size in bytes. */
  readonly bucketBytes: number;
  /** Plain text's chunk size in bytes. */
  readonly textChunkBytes: number;
  /**
   * Filler for content of `contentBytes` bytes: base64url characters (safe in an SSE comment and in
   * a JSON string), between 1 and 2·bucketBytes − 1 of them.
   */
  filler(contentBytes: number): string;
  /** The same length of JSON whitespace (spaces and tabs), for formats whose JSON must parse unchanged. */
  whitespace(contentBytes: number): string;
}

const DEFAULT_BUCKET_BYTES = 32;
const FILLER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const FILLER_CODES = Uint16Array.from(FILLER_ALPHABET, (char) => char.charCodeAt(0));
/** JSON whitespace that keeps a line one line: space and tab. */
const WHITESPACE_CODES = Uint16Array.of(0x20, 0x09);
const POOL_BYTES = 1024;
const SHARED_POOL_BYTES = 16_384;
/** Filler characters of one call (at most 2·256 − 1). */
const SCRATCH = new Uint16Array(2 * 256);
/** `SCRATCH.subarray(0, n)` by n, made once each: no view allocated per frame. */
const SCRATCH_VIEWS: Uint16Array[] = [];

/** A reader of random bytes drawn `size` at a time from `fill`. */
function pooled(fill: (bytes: Uint8Array<ArrayBuffer>) => void, size: number): () => number {
  const pool = new Uint8Array(size);
  let used = size;
  return () => {
    if (used === size) {
      fill(pool);
      used = 0;
    }
    return pool[used++]!;
  };
}

let sharedByte: (() => number) | undefined;
/** The next byte of the process's pool of `crypto.getRandomValues` bytes (made on first use). */
function nextSharedByte(): number {
  sharedByte ??= pooled((bytes) => void crypto.getRandomValues(bytes), SHARED_POOL_BYTES);
  return sharedByte();
}

/**
 * Reads `SLUICE_PADDING`: `off`, `false`, `0` or `no` turn padding off; unset, `on`, `true`, `1`
 * or `yes` leave it on.
 * @param value - the variable's value
 * @returns the padding option
 * @throws RangeError for any other value
 */
export function parsePaddingEnv(value: string | undefined): boolean {
  const raw = value?.trim().toLowerCase() ?? '';
  if (raw === '' || raw === 'on' || raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'off' || raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new RangeError(`Expected SLUICE_PADDING to be "on" or "off", got ${JSON.stringify(value)}.`);
}

function checkOption(option: PaddingOption): void {
  if (typeof option === 'boolean') return;
  if (typeof option !== 'object' || option === null) throw new TypeError(`Expected \`padding\` to be a boolean or options, got ${String(option)}.`);
  for (const key of ['bucketBytes', 'textChunkBytes'] as const) {
    const value = option[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 256)) {
      throw new RangeError(`Expected \`padding.${key}\` to be an integer from 1 to 256, got ${String(value)}.`);
    }
  }
}

/**
 * The padder of a codec, or undefined when padding is off.
 * @param option - the codec's `padding` option; undefined is off (the library's default, so a codec's
 *   bytes are exactly its events; the reference server turns it on from `SLUICE_PADDING`)
 * @returns a padder, or undefined
 */
export function createPadder(option: PaddingOption | undefined): Padder | undefined {
  const resolved = option ?? false;
  checkOption(resolved);
  if (resolved === false) return undefined;
  const options = resolved === true ? {} : resolved;
  const bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  const textChunkBytes = options.textChunkBytes ?? DEFAULT_BUCKET_BYTES;
  // Random bytes are drawn a pool at a time, not per frame: one crypto.getRandomValues call costs
  // some microseconds, and per byte it is ten times cheaper in 16 KiB than in 1 KiB. The default
  // source's pool is one for the whole process (every byte is used once, whichever padder takes it),
  // so a response costs no pool of its own; a `random` of the caller's (tests) gets its own.
  const next = options.random === undefined ? nextSharedByte : pooled(options.random, POOL_BYTES);
  // Fresh random characters for each frame (never slices of one long random string, which a
  // compressing proxy would find again and shrink): one pass over the pool into a scratch array,
  // then one String.fromCharCode, several times faster than adding characters one by one. The
  // scratch array is shared: it is filled and read within one call.
  const characters = (n: number, codes: Uint16Array, mask: number): string => {
    for (let i = 0; i < n; i++) SCRATCH[i] = codes[next() & mask]!;
    const view = (SCRATCH_VIEWS[n] ??= SCRATCH.subarray(0, n));
    return String.fromCharCode.apply(null, view as unknown as number[]);
  };
  const length = (contentBytes: number): number => {
    const floor = (Math.floor(contentBytes / bucketBytes) + 1) * bucketBytes;
    // A uniform offset in [0, bucketBytes): bytes are uniform in [0, 256), scaled down.
    return floor + Math.floor((next() * bucketBytes) / 256) - contentBytes;
  };
  return {
    bucketBytes,
    textChunkBytes,
    filler: (contentBytes) => characters(length(contentBytes), FILLER_CODES, 63),
    whitespace: (contentBytes) => characters(length(contentBytes), WHITESPACE_CODES, 1),
  };
}

/**
 * The bytes a string takes inside a JSON document as `JSON.stringify` writes it, quotes excluded:
 * escapes counted (`\n` is 2 bytes, a control character or a lone surrogate 6), the rest in UTF-8.
 * One pass of `charCodeAt`, no allocation.
 * @param text - any string
 * @returns its serialized size in bytes
 */
export function jsonStringBytes(text: string): number {
  const length = text.length;
  let bytes = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20) bytes += code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? 2 : 6;
    else if (code === 0x22 || code === 0x5c) bytes += 2;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else if (code >= 0xd800 && code <= 0xdfff) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}

/**
 * Adds filler to SSE text as a comment line at the end of its last event (`…\ndata: {…}\n: <filler>\n\n`):
 * every SSE parser ignores comment lines, and a hand-written reader that skips blocks starting
 * with `:` (heartbeats) still sees the event. `frames` must end with the blank line of an event.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @param frames - one or more whole SSE events
 * @param padder - the codec's padder (none: `frames` as they are)
 * @param contentBytes - the size of the generated content they carry
 * @returns the padded text
 */
export function withSseFiller(frames: string, padder: Padder | undefined, contentBytes: number): string {
  if (padder === undefined) return frames;
  return `${frames.slice(0, -1)}: ${padder.filler(contentBytes)}\n\n`;
}

/**
 * The size of the generated content an event carries, as serialized, or undefined for an event that
 * carries none: text, reasoning and tool-call deltas (the delta), and a tool call's whole input.
 * @param event - an agent event
 * @returns the content's bytes, or undefined
 */
export function contentBytesOf(event: AgentEvent): number | undefined {
  switch (event.type) {
    case 'text-delta':
    case 'reasoning-delta':
    case 'tool-call-delta':
      return jsonStringBytes(event.delta);
    case 'tool-call':
      return utf8Length(JSON.stringify(event.input ?? {}));
    default:
      return undefined;
  }
}
