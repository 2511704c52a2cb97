/**
 * Reads a JSON request body with a size limit and validates it with a zod schema, answering
 * 413, 415 or 400 with a clear message when it cannot. A client that leaves mid-body is an abort
 * (an `AbortError`), not a failure: nothing is logged for it.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { lingerOnClose } from '../core/node/linger-close.ts';
import { HttpError, quote, truncate } from './http-error.ts';

/**
 * Stops reading a body we refuse: the rest is discarded without buffering, so the 413 can still be
 * sent and read (its `Connection: close` ends the connection after it instead of keeping it alive),
 * and the close lingers so a client still uploading reads the 413 instead of a reset.
 */
function refuseRest(req: IncomingMessage): void {
  req.on('data', () => undefined);
  req.resume();
  lingerOnClose(req.socket);
}

const CLOSE = { connection: 'close' };
const IDENTITY = /^\s*identity\s*$/i;

/** The default limit of a request body. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The deepest nesting of arrays and objects a body may have (the body itself is level 1; a
 * published event's data has its own limit of 64, `MAX_EVENT_DEPTH`). JSON.parse takes any depth,
 * but what comes after does not: a 50,000-deep `tool-result` output overflowed the stack in the
 * recursive code downstream (validation, conversion, JSON.stringify) and answered 500 (issue 16).
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The nesting depth of a JSON text, from its bytes (strings skipped): one pass, no recursion, no
 * allocation, so it is safe before parsing anything.
 * @param bytes - the JSON text as UTF-8 (its multi-byte characters never contain ASCII bytes)
 * @param max - stop counting past this depth
 * @returns the deepest nesting seen (at most `max + 1`)
 */
export function jsonDepth(bytes: Uint8Array, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Reads and validates a JSON body.
 * @param req - the request
 * @param schema - what the body must be
 * @param limit - the largest body accepted, in bytes
 * @returns the parsed body
 * @throws HttpError 415 (not JSON), 413 (too large), 400 (bad JSON or invalid)
 */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S, limit = DEFAULT_BODY_LIMIT): Promise<z.infer<S>> {
  const type = req.headers['content-type'] ?? '';
  const encoding = req.headers['content-encoding'];
  // Content codings are case-insensitive tokens (RFC 9110 §8.4.1): `IDENTITY` is `identity`.
  if (encoding !== undefined && !IDENTITY.test(encoding)) {
    throw new HttpError(415, 'unsupported_media_type', `Compressed request bodies (Content-Encoding: ${quote(encoding)}) are not accepted; send plain JSON.`);
  }
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', `Expected a JSON body (Content-Type: application/json), got ${type === '' ? 'no Content-Type' : quote(type)}.`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    refuseRest(req);
    throw new HttpError(413, 'payload_too_large', `The body is ${declared} bytes; the limit is ${limit}.`, { headers: CLOSE });
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        refuseRest(req);
        reject(new HttpError(413, 'payload_too_large', `The body is larger than the limit of ${limit} bytes.`, { headers: CLOSE }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    // The client left mid-body (`ECONNRESET` "aborted", or the request timeout cut it off): an
    // abort, which the app answers with nothing and never logs.
    const onError = (error: Error): void => {
      done();
      reject(new DOMException(`The client disconnected while sending the body (${error.message}).`, 'AbortError'));
    };
    const onClose = (): void => {
      if (!req.complete) onError(new Error('closed'));
    };
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    throw new HttpError(400, 'invalid_request', `The body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    // V8's message quotes the start of the body: cut it like any other echo of input.
    throw new HttpError(400, 'invalid_json', `The body is not valid JSON: ${truncate((error as Error).message)}`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // Paths can hold the client's own keys: cut like any echo of input (zod's messages never quote the input).
    const message = issue?.message ?? 'invalid value';
    const text = issue && issue.path.length > 0 ? `Invalid \`${truncate(issue.path.join('.'))}\`: ${message}.` : `The body is invalid: ${message}.`;
    throw new HttpError(400, 'invalid_request', text, { cause: parsed.error });
  }
  return parsed.data;
}
