/**
 * `POST /mcp` (and `GET`, `DELETE`): sluice's tools over MCP Streamable HTTP, with the official
 * SDK's transport. Sessions are stateful and live on the instance that initialized them: the
 * `notifications/cancelled` an MCP client sends for a call arrives as a request of its own, and
 * only the session that runs the call can pass it to the tool. A client whose session is unknown
 * here (another instance, a restart, an idle expiry) gets `404` and initializes again, as the spec
 * says it must.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpToolServer } from '../../agent/mcp/create-mcp-tool-server.ts';
import type { McpToolServer } from '../../agent/mcp/mcp-types.ts';
import type { AnyAgentTool } from '../../agent/types.ts';
import type { Auth } from '../auth.ts';
import { quote } from '../http-error.ts';
import { readJson } from '../read-json.ts';
import type { RouteHandler } from '../router.ts';
import { importOptional } from '../../core/require-optional.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** The header carrying the session id. */
const SESSION_HEADER = 'mcp-session-id';
/** The largest JSON-RPC body accepted (the SDK's own limit). */
const MCP_BODY_LIMIT = 4 * 1024 * 1024;

/** Options of {@link mcpRoutes}. */
export interface McpRouteOptions {
  /** The tools served. */
  tools: readonly AnyAgentTool[];
  auth: Auth;
  /**
   * Browser origins that may call `/mcp` besides this machine's own (`localhost`, `127.0.0.1`,
   * `[::1]`); `*` allows any. Requests without an `Origin` (non-browser clients) are not affected.
   * @defaultValue none (the app passes `SLUICE_CORS_ORIGINS`)
   */
  allowedOrigins?: readonly string[];
  /** A session without requests for this long is closed. @defaultValue 1800000 (30 minutes) */
  sessionIdleMs?: number;
  /** Sessions open at once on this instance; an `initialize` past it gets 503. @defaultValue 1000 */
  maxSessions?: number;
  /**
   * Sessions one key (or, without keys, one client address) may hold open at once on this
   * instance; an `initialize` past it gets 429 `rate_limited`, so one client cannot take the whole
   * pool. 0 means no cap. @defaultValue 16 (the app passes `SLUICE_LIMIT_MCP_SESSIONS`)
   */
  maxSessionsPerOwner?: number;
  /**
   * The bucket a request's sessions are counted in: `key:<owner>` with keys, else the client
   * address (the quotas' `subject`, so a trusted proxy's forwarded address counts).
   * @defaultValue the key, else the socket's address
   */
  subjectOf?: (req: Parameters<RouteHandler>[0], owner: string | undefined) => string;
  /** A call is aborted and fails after this long. @defaultValue 30000 */
  toolTimeoutMs?: number;
}

interface Session {
  server: McpToolServer;
  transport: StreamableHTTPServerTransport;
  owner: string | undefined;
  /** The bucket counted against `maxSessionsPerOwner`. */
  subject: string;
  lastSeen: number;
  /** Requests whose responses are open now: an idle sweep leaves the session alone. */
  busy: number;
}

/** The default of `maxSessionsPerOwner`. */
export const DEFAULT_MCP_SESSIONS_PER_OWNER = 16;
/** `Retry-After` of a refused `initialize`: a session frees when a client ends it or it idles out. */
const SESSIONS_RETRY_AFTER_S = 5;

function sendRpcError(res: ServerResponse, status: number, code: number, message: string, extra: { retryAfterS?: number; errorCode?: string } = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(extra.retryAfterS === undefined ? {} : { 'retry-after': String(extra.retryAfterS) }) });
  const error = extra.errorCode === undefined ? { code, message } : { code, message, data: { code: extra.errorCode } };
  res.end(JSON.stringify({ jsonrpc: '2.0', error, id: null }));
}

type JsonRpcMessage = { jsonrpc?: unknown; id?: unknown; method?: unknown };

function requestIdsOf(body: unknown): (string | number)[] {
  const messages = (Array.isArray(body) ? body : [body]) as JsonRpcMessage[];
  return messages.flatMap((message) =>
    typeof message === 'object' && message !== null && typeof message.method === 'string' && (typeof message.id === 'string' || typeof message.id === 'number') ? [message.id] : [],
  );
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a browser's `Origin` may call `/mcp`. A page on another site reaching a local server
 * through DNS rebinding sends its own origin, whatever the `Host`: refusing foreign origins is
 * what the spec asks of servers to stop that.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#security-warning
 */
function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return LOOPBACK_HOSTS.has(new URL(origin).hostname);
  } catch {
    // `null` (a sandboxed page, a file) or garbage: not an origin we can trust.
    return false;
  }
}

/** The `/mcp` handler, and what the app calls at shutdown. */
export interface McpRoutes {
  handle: RouteHandler;
  /** Sessions open now. */
  readonly sessions: number;
  /** Closes every session (their running calls are aborted). */
  close(): Promise<void>;
}

/**
 * Builds the `/mcp` handler: auth as on `/v1/*` (401 without a key); a session belongs to the key
 * that initialized it (another key gets 404). A client that goes away while a call's response is
 * open cancels the call, as if it had sent `notifications/cancelled`.
 * @param options - tools, auth, session limits
 * @returns the handler
 */
export function mcpRoutes(options: McpRouteOptions): McpRoutes {
  const sessions = new Map<string, Session>();
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const maxSessions = options.maxSessions ?? 1000;
  const perOwner = options.maxSessionsPerOwner ?? DEFAULT_MCP_SESSIONS_PER_OWNER;
  const subjectOf = options.subjectOf ?? ((req, owner) => (owner !== undefined ? `key:${owner}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`));
  const sessionsOf = (subject: string): number => {
    let count = 0;
    for (const session of sessions.values()) if (session.subject === subject) count++;
    return count;
  };
  let sweeper: ReturnType<typeof setInterval> | undefined;

  const closeSession = async (id: string): Promise<void> => {
    const session = sessions.get(id);
    if (session === undefined) return;
    sessions.delete(id);
    if (sessions.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
    // Closing the server aborts the signals of its running calls.
    await session.server.close().catch(() => undefined);
  };
  const sweep = (): void => {
    const now = Date.now();
    for (const [id, session] of sessions) if (session.busy === 0 && now - session.lastSeen > idleMs) void closeSession(id);
  };

  /** Runs one HTTP request through a session's transport; a client gone mid-response cancels its calls. */
  const serve = async (session: Session, req: Parameters<RouteHandler>[0], res: ServerResponse, body: unknown): Promise<void> => {
    session.busy++;
    session.lastSeen = Date.now();
    const ids = requestIdsOf(body);
    const onClose = (): void => {
      if (res.writableFinished) return;
      // The SDK keeps a call running when its response's connection drops; tell the session as
      // the client would have.
      for (const requestId of ids) {
        session.transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'The client disconnected.' } });
      }
    };
    res.on('close', onClose);
    try {
      await session.transport.handleRequest(req, res, body);
    } finally {
      // handleRequest resolves once the response is handed over, not when it ends.
      const done = (): void => {
        session.busy--;
        session.lastSeen = Date.now();
        res.off('close', onClose);
      };
      if (res.writableEnded || res.destroyed) done();
      else res.once('close', done);
    }
  };

  const handle: RouteHandler = async (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin === 'string' && !originAllowed(origin, options.allowedOrigins ?? [])) {
      return sendRpcError(res, 403, -32000, `Forbidden: the origin ${quote(origin)} may not call /mcp (allow it with SLUICE_CORS_ORIGINS).`);
    }
    const owner = options.auth.ownerOf(req);
    const header = req.headers[SESSION_HEADER];
    const sessionId = typeof header === 'string' ? header : undefined;
    const body = req.method === 'POST' ? await readJson(req, z.unknown(), MCP_BODY_LIMIT) : undefined;
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      // Another key's session is as unknown as an expired one.
      if (session === undefined || session.owner !== owner) return sendRpcError(res, 404, -32001, 'Session not found: initialize a new session.');
      return serve(session, req, res, body);
    }
    if (req.method !== 'POST') return sendRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required.');
    const subject = subjectOf(req, owner);
    if (perOwner > 0 && sessionsOf(subject) >= perOwner) {
      sweep();
      if (sessionsOf(subject) >= perOwner) {
        const who = subject.startsWith('key:') ? 'this API key' : 'this client address';
        return sendRpcError(
          res,
          429,
          -32000,
          `Limit \`mcp_sessions\` reached: at most ${perOwner} MCP sessions open at once for ${who} (SLUICE_LIMIT_MCP_SESSIONS); end one (DELETE /mcp) or retry after ${SESSIONS_RETRY_AFTER_S} s.`,
          { retryAfterS: SESSIONS_RETRY_AFTER_S, errorCode: 'rate_limited' },
        );
      }
    }
    if (sessions.size >= maxSessions) {
      sweep();
      if (sessions.size >= maxSessions) {
        return sendRpcError(res, 503, -32000, `This instance has ${maxSessions} MCP sessions open; retry after ${SESSIONS_RETRY_AFTER_S} s.`, { retryAfterS: SESSIONS_RETRY_AFTER_S, errorCode: 'overloaded' });
      }
    }
    const { StreamableHTTPServerTransport } = await importOptional('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/server/streamableHttp.js'));
    const server = await createMcpToolServer(options.tools, options.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: options.toolTimeoutMs });
    const session: Session = { server, transport: undefined as unknown as StreamableHTTPServerTransport, owner, subject, lastSeen: Date.now(), busy: 0 };
    session.transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, session);
        sweeper ??= setInterval(sweep, Math.min(idleMs, 60_000)).unref();
      },
      onsessionclosed: (id) => void closeSession(id),
    });
    await server.connect(session.transport);
    await serve(session, req, res, body);
    // Not an `initialize` (the SDK answered 400): no session was made, nothing to keep.
    if (session.transport.sessionId === undefined) await server.close().catch(() => undefined);
    return undefined;
  };

  return {
    handle,
    get sessions() {
      return sessions.size;
    },
    async close() {
      await Promise.all([...sessions.keys()].map(closeSession));
    },
  };
}
