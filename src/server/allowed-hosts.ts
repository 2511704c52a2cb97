/**
 * The `Host` check that stops DNS rebinding while auth is off: a web page on another site can point
 * its own name at 127.0.0.1 (or a machine on the user's network) and then call the server as if
 * it were that site — same origin to the browser, so no CORS check applies. What it cannot change is
 * the `Host` header, which carries its own name. So, with no API keys, requests to the API
 * (`/v1/*`, `/api/*`) must name the server by an IP address, `localhost` (or a `*.localhost` name),
 * or a name listed in `SLUICE_ALLOWED_HOSTS`. With keys on the check is not needed (a rebinding
 * page has no key) and not made. The same defence as Vite's `server.allowedHosts`.
 *
 * @module
 */
import { isIP } from 'node:net';

/** The variable listing the extra host names (comma-separated; `*`: any). */
export const ALLOWED_HOSTS_ENV = 'SLUICE_ALLOWED_HOSTS';

/**
 * Reads `SLUICE_ALLOWED_HOSTS`: comma-separated host names (no port), `*` for any.
 * @param value - the variable's value
 * @returns the names, lower-cased
 * @throws RangeError for an entry that is not a host name (a scheme, a port, a path)
 */
export function parseAllowedHosts(value: string | undefined): string[] {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names) {
    if (name !== '*' && !/^(?:\.?[a-z0-9_-]+)(?:\.[a-z0-9_-]+)*\.?$/.test(name)) {
      throw new RangeError(`Expected ${ALLOWED_HOSTS_ENV} to list host names without scheme or port (e.g. chat.example.com), got ${JSON.stringify(name)}.`);
    }
  }
  return names;
}

/** The host name of a `Host` header, without its port or an IPv6 address's brackets, lower-cased. */
function hostName(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).replace(/\.$/, '');
}

/**
 * Whether a request naming `header` as its host may call the API while auth is off.
 * @param header - the request's `Host` header (undefined: an HTTP/1.0 client, never a browser)
 * @param allowed - extra names ({@link parseAllowedHosts}); a name starting with `.` allows its subdomains
 * @returns true when allowed
 */
export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined || header === '') return true;
  const name = hostName(header);
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  for (const entry of allowed) {
    if (entry === '*' || entry === name) return true;
    if (entry.startsWith('.') && (name.endsWith(entry) || name === entry.slice(1))) return true;
  }
  return false;
}
