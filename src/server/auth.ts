/**
 * API keys (`SLUICE_API_KEYS`): who may call `/v1/*` and `/api/*`, and who owns a stream. Keys are
 * compared in constant time; the store only ever sees a hash of a key, never the key itself.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';

/** Checks a request's key. */
export interface Auth {
  /** Whether keys are required at all. */
  readonly enabled: boolean;
  /**
   * The owner of what this request creates (a hash of its key), or undefined when auth is off.
   * @throws HttpError 401 `unauthorized` when auth is on and the request has no valid key
   */
  ownerOf(req: IncomingMessage): string | undefined;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Parses `SLUICE_API_KEYS`: comma-separated, blanks ignored.
 * @param value - the variable's value
 * @returns the keys
 */
export function parseApiKeys(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
}

/**
 * Creates the key check.
 * @param keys - the accepted keys; none turns auth off
 * @returns the check
 */
export function createAuth(keys: readonly string[]): Auth {
  const digests = keys.map(digest);
  return {
    enabled: digests.length > 0,
    ownerOf(req) {
      if (digests.length === 0) return undefined;
      const header = req.headers.authorization;
      const apiKey = req.headers['x-api-key'];
      const given = (typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined) ?? (typeof apiKey === 'string' ? apiKey.trim() : undefined);
      if (given !== undefined && given !== '') {
        // Equal-length digests compared with timingSafeEqual, every key checked: how long this
        // takes says nothing about how much of a key matched, nor which key.
        const candidate = digest(given);
        let match = false;
        for (const known of digests) match = timingSafeEqual(candidate, known) || match;
        if (match) return createHash('sha256').update('sluice-owner:').update(candidate).digest('base64url');
      }
      throw new HttpError(401, 'unauthorized', 'A valid API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>` (one of SLUICE_API_KEYS).', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    },
  };
}
