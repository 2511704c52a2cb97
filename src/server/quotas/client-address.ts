/**
 * Who a request comes from when no API key says it: the socket's peer address, or — only when
 * that peer is a proxy named in `SLUICE_TRUST_PROXY` — the client its `X-Forwarded-For` names.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** The proxies whose `X-Forwarded-For` is believed. */
export interface TrustedProxies {
  /** Whether `address` (IPv4 or IPv6) is one of them. */
  has(address: string): boolean;
  /** How many entries were configured (0: nobody is trusted). */
  readonly size: number;
}

/** An IPv4 address as an IPv6 socket reports it (`::ffff:127.0.0.1`). */
const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** The address as written in `SLUICE_TRUST_PROXY` and in `X-Forwarded-For` (IPv4-mapped IPv6 unwrapped). */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  return MAPPED_V4.exec(trimmed)?.[1] ?? trimmed;
}

/**
 * Parses `SLUICE_TRUST_PROXY`: comma-separated addresses or CIDRs (`10.0.0.0/8`, `::1`,
 * `fd00::/8`); blank means nobody.
 * @param value - the variable's value
 * @returns the trusted proxies
 * @throws RangeError on an entry that is neither an address nor a CIDR
 */
export function parseTrustProxy(value: string | undefined): TrustedProxies {
  const list = new BlockList();
  let size = 0;
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const address = normalizeAddress(slash === -1 ? entry : entry.slice(0, slash));
    const family = isIP(address);
    const prefix = slash === -1 ? undefined : Number(entry.slice(slash + 1));
    const most = family === 4 ? 32 : 128;
    if (family === 0 || (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= most))) {
      throw new RangeError(`Expected SLUICE_TRUST_PROXY to list addresses or CIDRs (e.g. 10.0.0.1,10.0.0.0/8,::1), got ${JSON.stringify(entry).slice(0, 60)}.`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
    size++;
  }
  return {
    size,
    has(address) {
      const normalized = normalizeAddress(address);
      const family = isIP(normalized);
      return family !== 0 && list.check(normalized, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (text.includes('.')) {
    // An IPv4 address in the last 32 bits (`64:ff9b::192.0.2.1`).
    const colon = text.lastIndexOf(':');
    const octets = text.slice(colon + 1).split('.').map(Number);
    if (octets.length !== 4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const gap = text.indexOf('::');
  const head = (gap === -1 ? text : text.slice(0, gap)).split(':').filter((group) => group !== '');
  const tail = gap === -1 ? [] : text.slice(gap + 2).split(':').filter((group) => group !== '');
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (gap === -1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array.from({ length: missing }, () => '0'), ...tail].map((group) => Number.parseInt(group, 16));
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

/**
 * What limits count per when there is no key: an IPv4 address as it is, an IPv6 address by its
 * /64 prefix — one host (one customer of a provider) is usually given a whole /64, and counting
 * single IPv6 addresses would let it make up new ones at will.
 * @param address - a client address (from {@link clientAddress})
 * @returns the address, or its IPv6 /64 as `2001:db8:1:2::/64`
 */
export function addressBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = ipv6Groups(address);
  return groups === undefined ? address : `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/**
 * The client address of a request. `X-Forwarded-For` is read only when the socket's peer is a
 * trusted proxy, from its right end (the hop that proxy saw) leftwards past the other trusted
 * proxies: the first untrusted address is the client. Anything a client writes further left is
 * never believed, and a header from an untrusted peer is ignored altogether.
 * @param req - the request
 * @param trusted - the trusted proxies
 * @returns the address (`unknown` when the socket has none any more)
 */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  let client = normalizeAddress(req.socket.remoteAddress ?? 'unknown');
  if (trusted.size === 0 || !trusted.has(client)) return client;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return client;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = normalizeAddress(hops[index] ?? '');
    // A hop that is no address (garbage, `unknown`) ends the chain: the last proxy's peer is the client we know.
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}
