/**
 * The server's defences against slow, idle and too many clients: a Node `http` server with
 * timeouts on receiving requests, on idle connections, and a cap on open connections that
 * answers `503 overloaded` instead of dropping the connection — except `/healthz` and `/readyz`,
 * which are answered even over the cap, so an orchestrator never restarts a healthy instance
 * because clients filled its connections.
 *
 * @module
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { HttpError, sendError } from './http-error.ts';

/** Timeouts and the connection cap of {@link createLimitedServer}. */
export interface ServerLimits {
  /**
   * Milliseconds a client has to send a request's headers (a "slow loris" sending them a byte at a
   * time is answered 408 and closed). `0` turns it off. Env: `SLUICE_HEADERS_TIMEOUT_MS`.
   * @defaultValue 10000, or `requestTimeoutMs` when that is shorter
   */
  headersTimeoutMs?: number;
  /**
   * Milliseconds a client has to send a whole request, body included. It covers receiving the
   * request only: a response may stream for hours. `0` turns it off. Env: `SLUICE_REQUEST_TIMEOUT_MS`.
   * @defaultValue 30000
   */
  requestTimeoutMs?: number;
  /**
   * Milliseconds a kept-alive connection waits for its next request (Node ≥ 24 adds its
   * `keepAliveTimeoutBuffer`, 1 s, to what the server itself waits). Env: `SLUICE_KEEP_ALIVE_TIMEOUT_MS`.
   * @defaultValue 5000
   */
  keepAliveTimeoutMs?: number;
  /**
   * Milliseconds a new connection may stay silent before its first request. Never applies while a
   * request is in flight (a stream pausing between events is not idle). `0` turns it off.
   * Env: `SLUICE_IDLE_TIMEOUT_MS`.
   * @defaultValue 10000
   */
  idleTimeoutMs?: number;
  /**
   * The most connections open at once; requests on connections over the cap are answered
   * `503 {"error":{"code":"overloaded"}}` with `Connection: close` and `Retry-After: 1`, except
   * `GET /healthz` and `GET /readyz` ({@link ALWAYS_ANSWERED}), answered as usual (and then closed).
   * Env: `SLUICE_MAX_CONNECTIONS`.
   * @defaultValue 10000
   */
  maxConnections?: number;
}

/** The defaults of {@link ServerLimits}. */
export const DEFAULT_SERVER_LIMITS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  maxConnections: 10_000,
} as const satisfies Required<ServerLimits>;

/** The environment variable of each limit. */
export const SERVER_LIMITS_ENV = {
  headersTimeoutMs: 'SLUICE_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'SLUICE_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'SLUICE_KEEP_ALIVE_TIMEOUT_MS',
  idleTimeoutMs: 'SLUICE_IDLE_TIMEOUT_MS',
  maxConnections: 'SLUICE_MAX_CONNECTIONS',
} as const satisfies Record<keyof ServerLimits, string>;

const KEYS = Object.keys(SERVER_LIMITS_ENV) as (keyof ServerLimits)[];

/** Checks one limit: whole milliseconds ≥ 0, or a connection count ≥ 1 (`Infinity` for none). */
function check(key: keyof ServerLimits, value: number, where: string, given: unknown = value): number {
  const min = key === 'maxConnections' ? 1 : 0;
  if (!(Number.isInteger(value) && value >= min) && !(key === 'maxConnections' && value === Infinity)) {
    const what = key === 'maxConnections' ? 'a whole number of connections ≥ 1' : 'a whole number of milliseconds ≥ 0';
    throw new RangeError(`Expected \`${where}\` to be ${what}, got ${JSON.stringify(String(given)).slice(0, 40)}.`);
  }
  return value;
}

/**
 * Reads the limits set in the environment.
 * @param env - the environment
 * @returns the limits it sets (the others are left out)
 * @throws RangeError when a variable is not a whole number
 */
export function serverLimitsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ServerLimits {
  const limits: ServerLimits = {};
  for (const key of KEYS) {
    const raw = env[SERVER_LIMITS_ENV[key]]?.trim();
    if (raw) limits[key] = check(key, Number(raw), SERVER_LIMITS_ENV[key], raw);
  }
  return limits;
}

/** How long a connection over the cap stays open at most, whatever it sends (its request, if it comes in time, is answered at once). */
export const OVER_CAP_MS = 1000;

/** The paths answered even on a connection over the cap: liveness and readiness probes. */
export const ALWAYS_ANSWERED: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** The path of a request target, without its query. */
function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

/** The request listener a limited server wraps, kept on the wrapper under this key (graceful shutdown finds the app through it). */
export const WRAPPED_LISTENER: unique symbol = Symbol.for('sluice.wrappedListener');

/**
 * Creates a Node `http` server for `listener` with the given limits.
 * @param listener - the request listener (the app)
 * @param limits - timeouts and the connection cap; missing ones take {@link DEFAULT_SERVER_LIMITS}
 * @returns the server, not listening yet
 * @throws RangeError on a limit that is not a whole number, or headers allowed longer than the request
 */
export function createLimitedServer(listener: RequestListener, limits: ServerLimits = {}): Server {
  for (const key of KEYS) if (limits[key] !== undefined) check(key, limits[key], key);
  const requestTimeout = limits.requestTimeoutMs ?? DEFAULT_SERVER_LIMITS.requestTimeoutMs;
  const headersTimeout = limits.headersTimeoutMs ?? (requestTimeout > 0 ? Math.min(requestTimeout, DEFAULT_SERVER_LIMITS.headersTimeoutMs) : DEFAULT_SERVER_LIMITS.headersTimeoutMs);
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    throw new RangeError(`Expected \`headersTimeoutMs\` (${headersTimeout}) to be at most \`requestTimeoutMs\` (${requestTimeout}): the headers are part of the request.`);
  }
  const keepAliveTimeout = limits.keepAliveTimeoutMs ?? DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs;
  const idleTimeout = limits.idleTimeoutMs ?? DEFAULT_SERVER_LIMITS.idleTimeoutMs;
  const maxConnections = limits.maxConnections ?? DEFAULT_SERVER_LIMITS.maxConnections;

  // Node checks the headers and request timeouts on a timer (every 30 s by default), so a 10 s
  // timeout could let a slow client stay 40 s: check at a quarter of the shortest, within 10 ms–1 s.
  const shortest = Math.min(...[headersTimeout, requestTimeout].filter((ms) => ms > 0), 4_000);
  const connectionsCheckingInterval = Math.max(10, Math.min(1_000, Math.floor(shortest / 4)));

  const refused = new WeakSet<Socket>();
  let open = 0;
  const limited: RequestListener & { [WRAPPED_LISTENER]?: RequestListener } = (req, res) => {
    // A request is in flight: the idle timeout is for silent connections, not paused streams.
    // (Between requests Node's keep-alive timeout takes over.)
    if (idleTimeout > 0) req.socket.setTimeout(0);
    if (!refused.has(req.socket)) return listener(req, res);
    if (ALWAYS_ANSWERED.has(pathOf(req.url))) {
      // A probe over the cap is answered, and its connection closed after the answer.
      res.shouldKeepAlive = false;
      return listener(req, res);
    }
    req.resume();
    sendError(
      res,
      new HttpError(503, 'overloaded', `The server has too many open connections (its limit is ${maxConnections}); retry shortly.`, {
        headers: { connection: 'close', 'retry-after': '1' },
      }),
    );
  };
  // The app stays reachable behind the wrapper (graceful shutdown finds it through the server).
  limited[WRAPPED_LISTENER] = listener;
  const server = createServer({ headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval }, limited);
  // Node's own listener runs first; with no 'timeout' listener of ours, a socket that times out
  // with no request in flight is destroyed by Node.
  // Requests Node's parser refuses never reach the app: answer them with the same JSON error as
  // every other refusal (Node's default writes a bare status line), then close.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(error.code));
  });
  server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
    // A clear refusal rather than `server.maxConnections`, which destroys the socket unanswered.
    // A connection over the cap gets a short while in all to send its request and be answered (a
    // probe, or a client to tell 503), then it is closed whatever it sends: held open longer (an idle
    // timer is reset by each byte trickled in), connections over the cap would use up the process's
    // file descriptors, and then not even a probe could be accepted.
    if (open > maxConnections) {
      refused.add(socket);
      const deadline = setTimeout(() => socket.destroy(), OVER_CAP_MS);
      deadline.unref();
      socket.once('close', () => clearTimeout(deadline));
    } else if (idleTimeout > 0) socket.setTimeout(idleTimeout);
  });
  return server;
}

/** What a request Node's HTTP parser refused gets: the status Node itself would send, with a JSON body. */
function clientErrorResponse(code: string | undefined): string {
  const [status, reason, errorCode, message] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'The request took too long to arrive.']
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'The request headers are too large.']
        : [400, 'Bad Request', 'bad_request', 'The request is not valid HTTP/1.1.'];
  const body = JSON.stringify({ error: { code: errorCode, message } });
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
