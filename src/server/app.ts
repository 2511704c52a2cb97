/**
 * The sluice app: routes on a Node `http` server.
 *
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connectMcpServers, type McpConnection } from '../agent/mcp/mcp-client.ts';
import { MCP_SERVERS_ENV, parseMcpServers, type McpServersConfig } from '../agent/mcp/mcp-config.ts';
import { createBuiltinTools } from '../agent/tools/builtin-tools.ts';
import type { AnyAgentTool } from '../agent/types.ts';
import { isAbortError, isSluiceError } from '../core/errors.ts';
import { MissingDependencyError } from '../core/require-optional.ts';
import { parsePaddingEnv } from '../protocol/padding.ts';
import { isStoreError } from '../store/errors.ts';
import type { StreamStore } from '../store/types.ts';
import { createAuth, parseApiKeys } from './auth.ts';
import { createCors, parseCorsOrigins } from './cors.ts';
import { HttpError, quote, sendError, sendJson, truncate } from './http-error.ts';
import { createLimitedServer, SERVER_LIMITS_ENV, serverLimitsFromEnv, type ServerLimits } from './limits.ts';
import { checkListenSockets, listenShared, listenSocketsFromEnv, listenSocketsOf } from './listen.ts';
import { createServerMetrics, type ServerMetrics } from './metrics.ts';
import { ALLOWED_HOSTS_ENV, hostAllowed, parseAllowedHosts } from './allowed-hosts.ts';
import { parseTrustProxy } from './quotas/client-address.ts';
import { DEFAULT_MAX_EVENT_BYTES } from './quotas/check-event-data.ts';
import { QUOTA_ENV, quotaLimitsFromEnv, type QuotaLimits } from './quotas/quota-limits.ts';
import { createQuotas, describeLimits } from './quotas/quotas.ts';
import { appsOf } from './shutdown.ts';
import { Router, type RouteHandler } from './router.ts';
import { createModelRegistry, type ModelRegistry } from './models.ts';
import { chatRoutes } from './routes/chat.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { APPROVAL_TIMEOUT_ENV, DEFAULT_APPROVAL_TIMEOUT_MS } from './approval-gate.ts';
import { createPublishEventTool } from '../agent/tools/publish-event.ts';
import { publishTopicEvent } from './publish-topic-event.ts';
import { createDemoNumbers } from './routes/demo-numbers.ts';
import { eventRoutes } from './routes/events.ts';
import { createFilesRoute } from './routes/files.ts';
import { createSampleFilesRoute } from './routes/sample-files.ts';
import { jobRoutes } from './routes/jobs.ts';
import { DEFAULT_MCP_SESSIONS_PER_OWNER, mcpRoutes } from './routes/mcp.ts';
import { streamRoutes } from './routes/streams.ts';
import { createWebAssetRoute, sourceMapsFromEnv, webFavicon, webPage } from './routes/web.ts';
import { isProviderFailureCode, isReportedByRun } from './public-errors.ts';
import { createFollowerSet, StreamFailedError } from './runs/follow-stream.ts';
import { loadStore, redactUrl } from './runs/load-store.ts';
import { createRunManager } from './runs/run-manager.ts';
import { readMaxTakeovers } from './runs/takeover.ts';
import { agentResume } from './runs/takeover-agent.ts';
import { createStreams, shuttingDown, type StreamContext, type Streams } from './runs/stream-context.ts';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Reports errors that escaped a route (they are also answered as JSON 500). @defaultValue console.error */
  onError?: (error: unknown) => void;
  /** Resolves model names. @defaultValue a registry over `process.env` */
  models?: ModelRegistry;
  /** Milliseconds between heartbeats on idle streams. @defaultValue 15000 */
  heartbeatMs?: number;
  /**
   * A streaming response whose client stops reading (a half-open socket, a frozen tab) for this
   * long is ended as a disconnect; `0` turns it off. @defaultValue `SLUICE_SEND_TIMEOUT_MS`, else 30000
   */
  sendTimeoutMs?: number;
  /**
   * Where the events of every stream are kept (resume, fan-out, stop from any instance).
   * @defaultValue Redis when `REDIS_URL` is set, else memory
   */
  store?: StreamStore;
  /** Accepted API keys; none turns auth off. @defaultValue `SLUICE_API_KEYS` (comma-separated) */
  apiKeys?: readonly string[];
  /** How long a generation goes on with no client following it. @defaultValue `SLUICE_DETACH_GRACE_MS`, else 30000 */
  detachGraceMs?: number;
  /** How long {@link App.shutdown} lets running generations finish. @defaultValue `SLUICE_DRAIN_MS`, else 10000 */
  drainMs?: number;
  /** Where `REDIS_URL`, `SLUICE_API_KEYS`, `SLUICE_DETACH_GRACE_MS` and `SLUICE_DRAIN_MS` are read. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Reports what an operator should know (Redis unreachable at start). @defaultValue console.warn */
  onWarn?: (message: string) => void;
  /**
   * The tools the agent runs itself on `/v1/chat`, `/api/chat` and `/v1/ag-ui`; jobs run
   * `generate_report` and `analyze_data` from here too (else the built-in ones).
   * @defaultValue the built-in tools (`createBuiltinTools()`)
   */
  tools?: readonly AnyAgentTool[];
  /** How long a run waits for a tool approval before the call is denied (reason `timeout`). @defaultValue `SLUICE_APPROVAL_TIMEOUT_MS`, else 600000 */
  approvalTimeoutMs?: number;
  /** Origins whose browsers may call the API (`*` for any). @defaultValue `SLUICE_CORS_ORIGINS` (comma-separated), else none */
  corsOrigins?: readonly string[];
  /**
   * While auth is off, host names (besides IP addresses, `localhost` and `*.localhost`) by which
   * requests may name this server to call `/v1/*` and `/api/*` (a DNS rebinding defence, see
   * docs/security.md); `.example.com` allows its subdomains, `*` any name.
   * @defaultValue `SLUICE_ALLOWED_HOSTS` (comma-separated), else none
   */
  allowedHosts?: readonly string[];
  /** The folder `GET /v1/files/:name` serves. @defaultValue `SLUICE_FILES_DIR`, else the bundled samples (`dist/samples/`, and `large-sample.bin` written on first use to a temp folder) */
  filesDir?: string | URL;
  /**
   * Quotas per API key (per client address when auth is off); `0` turns one off. See docs/limits.md.
   * @defaultValue each from its `SLUICE_LIMIT_*` variable, else `DEFAULT_QUOTA_LIMITS`
   */
  limits?: Partial<QuotaLimits>;
  /**
   * MCP servers whose tools the agent offers beside `tools` (named `<server>__<tool>`); `POST /mcp`
   * serves `tools` only. @defaultValue `SLUICE_MCP_SERVERS` (JSON, see `parseMcpServers`), else none
   */
  mcpServers?: McpServersConfig;
}

/** A Node request listener serving the sluice HTTP API, with its lifecycle. */
export interface AppHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The app's metrics (`GET /metrics`). */
  readonly metrics: ServerMetrics;
  /** The origins CORS allows (empty: CORS is off). */
  readonly corsOrigins: readonly string[];
  /**
   * What an operator should know at start, one line each: the default model and how to switch,
   * the store (a Redis URL with its password redacted), auth (how many keys, never the keys), the
   * limits, CORS, token-length padding (`SLUICE_PADDING`), MCP.
   */
  describe(): string[];
  /** How long {@link AppHandler.shutdown} lets generations finish by default, in milliseconds. */
  readonly drainMs: number;
  /**
   * Graceful shutdown: new streams get 503; with a shared store (Redis) followers are dropped at
   * once so their clients resume on another instance (with memory they stay until the drain
   * ends); running generations get `drainMs` to finish (then end with `abort`); the store is
   * closed. Resolves when all that is done.
   */
  shutdown(options?: { drainMs?: number }): Promise<void>;
  /** Settles once the MCP servers are connected or known to be unreachable ({@link serve} waits for it). */
  readonly mcpReady: Promise<void>;
}

/** An alias of {@link AppHandler}. */
export type App = AppHandler;

/** Paths that need an API key when auth is on. */
const PROTECTED = /^\/(?:v1|api)\//;
/** The refusal of an API request naming this server by a name it does not answer to while auth is off. */
function forbiddenHost(host: string): HttpError {
  return new HttpError(
    403,
    'forbidden_host',
    `This server does not answer API requests for the host ${quote(host)} while auth is off (a defence against DNS rebinding): call it by its IP address or localhost, list the name in ${ALLOWED_HOSTS_ENV}, or set SLUICE_API_KEYS.`,
  );
}

/** Paths still answered while the instance drains. */
const DURING_DRAIN = new Set(['/healthz', '/readyz', '/metrics']);

function readMs(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`Expected ${name} to be a non-negative integer (milliseconds), got ${JSON.stringify(raw)}.`);
  return value;
}

function readCount(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`Expected ${name} to be a non-negative integer (0 for no limit), got ${JSON.stringify(raw)}.`);
  return value;
}

/** How long Redis may take to connect at start before the log says it is unreachable. */
const REDIS_GRACE_MS = 2000;
/** The quota subject of `publish_event` calls of runs that carry no subject of their own and no API key. */
const AGENT_PUBLISH_SUBJECT = 'agent:anonymous';
const REDIS_POLL_MS = 250;

/**
 * Says in the log when Redis is unreachable at start (after a short grace for the first
 * connection), and again once it is reachable. `/readyz` answers from the store meanwhile.
 */
function watchRedis(store: () => Promise<StreamStore>, where: string, onWarn: (message: string) => void, stopped: () => boolean): void {
  const startedAt = Date.now();
  let warned = false;
  const check = async (): Promise<void> => {
    if (stopped()) return;
    let ready = false;
    try {
      ready = await (await store()).ready();
    } catch (error) {
      if (!warned) onWarn(`sluice: the Redis store (${where}) failed to load: ${error instanceof Error ? error.message : String(error)}.`);
      warned = true;
    }
    if (ready) {
      if (warned) onWarn(`sluice: Redis at ${where} is reachable now; ready.`);
      return;
    }
    if (!warned && Date.now() - startedAt >= REDIS_GRACE_MS) {
      warned = true;
      onWarn(`sluice: Redis at ${where} is unreachable; GET /readyz answers 503 until it is (retrying in the background).`);
    }
    // Never keeps a process alive on its own.
    setTimeout(() => void check(), REDIS_POLL_MS).unref();
  };
  void check();
}

/**
 * Builds the app's request handler.
 * @param options - app options
 * @returns a handler for `http.createServer`, with `shutdown()`
 */
export function createApp(options: AppOptions = {}): AppHandler {
  const env = options.env ?? process.env;
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  const onWarn = options.onWarn ?? ((message: string) => console.warn(message));
  const detachGraceMs = options.detachGraceMs ?? readMs(env, 'SLUICE_DETACH_GRACE_MS', 30_000);
  const drainMs = options.drainMs ?? readMs(env, 'SLUICE_DRAIN_MS', 10_000);
  const maxTakeovers = readMaxTakeovers(env);
  const metrics = createServerMetrics();
  const apiKeys = options.apiKeys ?? parseApiKeys(env.SLUICE_API_KEYS);
  const auth = createAuth(apiKeys);
  const cors = createCors(options.corsOrigins ?? parseCorsOrigins(env.SLUICE_CORS_ORIGINS));
  const allowedHosts = options.allowedHosts?.map((name) => name.toLowerCase()) ?? parseAllowedHosts(env[ALLOWED_HOSTS_ENV]);
  const redisUrl = env.REDIS_URL?.trim();
  const maxEventBytes = readMs(env, 'SLUICE_MAX_EVENT_BYTES', DEFAULT_MAX_EVENT_BYTES);
  let draining = false;
  let shutdownPromise: Promise<void> | undefined;

  let storePromise: Promise<StreamStore> | undefined;
  const store = (): Promise<StreamStore> => {
    if (storePromise === undefined) {
      storePromise = options.store !== undefined ? Promise.resolve(options.store) : loadStore(redisUrl);
      // A failed load is tried again on the next request rather than remembered forever.
      storePromise.catch(() => (storePromise = undefined));
    }
    return storePromise;
  };
  const quotas = createQuotas({
    limits: { ...quotaLimitsFromEnv(env), ...options.limits },
    trustProxy: parseTrustProxy(env.SLUICE_TRUST_PROXY),
    backend: () => store().then((loaded) => loaded.quotaBackend?.()),
    onRefused: (limit) => metrics.rateLimited.inc({ limit }),
    onWarn,
  });
  for (const limit of Object.keys(QUOTA_ENV)) metrics.rateLimited.inc({ limit }, 0);
  const followers = createFollowerSet((open) => metrics.openConnections.set(open));
  const sendTimeoutMs = options.sendTimeoutMs ?? readMs(env, 'SLUICE_SEND_TIMEOUT_MS', 30_000);
  // The store, its runs and the followers, built once the store is loaded: a request awaits it once.
  let streamsPromise: Promise<Streams> | undefined;
  const loadStreams = (): Promise<Streams> => {
    if (streamsPromise === undefined) {
      streamsPromise = store().then((loaded) =>
        createStreams({
          store: loaded,
          runs: createRunManager({
            store: loaded,
            detachGraceMs,
            // A running stream the full store refused is one line in the log, not a stack trace.
            onError: (error) => (isStoreError(error) && error.code === 'full' ? onWarn(`sluice: a running stream was stopped: ${error.message}`) : onError(error)),
            onActiveChange: (active) => metrics.activeStreams.set(active),
            observe: () => {
              const run = metrics.observeRun();
              return (event) => run.event(event);
            },
            // Runs started here keep their request with their log; lost ones are continued here.
            takeover: {
              maxTakeovers,
              // Every tool a run here may have offered: publish_event and the MCP servers' too.
              resume: agentResume(models, agentTools),
              onOutcome: (outcome, count) => metrics.takeovers.inc({ outcome }, count),
            },
          }),
          followers,
          draining: () => draining,
          heartbeatMs: options.heartbeatMs,
          sendTimeoutMs,
          onResponse: (result) => metrics.observeResponse(result),
        }),
      );
      // A failed load is tried again on the next request.
      streamsPromise.catch(() => (streamsPromise = undefined));
    }
    return streamsPromise;
  };
  loadStreams().catch(() => undefined);
  if (redisUrl !== undefined && redisUrl !== '' && options.store === undefined) watchRedis(store, redactUrl(redisUrl), onWarn, () => shutdownPromise !== undefined);

  const streams: StreamContext = { streams: loadStreams, quotas, draining: () => draining, padding: parsePaddingEnv(env.SLUICE_PADDING) };
  const tools = options.tools ?? createBuiltinTools();
  // The agent's tools: the app's, `publish_event` with the built-in ones (it publishes through this
  // app's store like POST /v1/events, on the run's key's topics, and needs approval), then the MCP
  // servers' once they are connected.
  const sharedTopicPrefix = env.SLUICE_SHARED_TOPIC_PREFIX?.trim() || undefined;
  // Through the same checks as POST /v1/events (size, depth, topic name, `topics` and
  // `publish_per_minute`); a refusal becomes the call's tool-error. A run's publishes count against
  // its chat request's subject, as that request's own publishes would: its key, else its client's
  // address (trusted proxies believed). A run without one (none the chat routes start) counts under
  // its key, else under one subject shared by all such runs.
  const publisher = { quotas, store, maxEventBytes, sharedTopicPrefix };
  const publishEvent = createPublishEventTool({
    publish: (topic, event, { owner, subject }) =>
      publishTopicEvent(publisher, { subject: subject ?? (owner === undefined ? AGENT_PUBLISH_SUBJECT : `key:${owner}`), owner }, topic, event),
  });
  const agentTools = options.tools === undefined ? [...tools, publishEvent] : [...tools];
  const mcpServers = options.mcpServers ?? parseMcpServers(env[MCP_SERVERS_ENV]);
  let mcpConnection: McpConnection | undefined;
  const mcpReady =
    Object.keys(mcpServers).length === 0
      ? Promise.resolve()
      : connectMcpServers(mcpServers).then(
          (connection) => {
            mcpConnection = connection;
            agentTools.push(...connection.tools);
          },
          (error: unknown) => onWarn(`sluice: connecting to the MCP servers failed: ${error instanceof Error ? error.message : String(error)}`),
        );
  const mcp = mcpRoutes({
    tools,
    auth,
    allowedOrigins: cors.origins,
    maxSessionsPerOwner: readCount(env, 'SLUICE_LIMIT_MCP_SESSIONS', DEFAULT_MCP_SESSIONS_PER_OWNER),
    subjectOf: (req, owner) => quotas.subject(req, owner),
  });
  const models = options.models ?? createModelRegistry(options.env === undefined ? {} : { env: options.env });
  const approvalTimeoutMs = options.approvalTimeoutMs ?? (readMs(env, APPROVAL_TIMEOUT_ENV, DEFAULT_APPROVAL_TIMEOUT_MS) || DEFAULT_APPROVAL_TIMEOUT_MS);
  const chat = chatRoutes({ models, streams, tools: agentTools, approvalTimeoutMs });
  const approvals = approvalRoutes(streams);
  const resume = streamRoutes(streams);
  const events = eventRoutes(streams, { maxEventBytes, sharedTopicPrefix });
  const jobs = jobRoutes(streams, tools);
  const filesDir = options.filesDir ?? (env.SLUICE_FILES_DIR?.trim() || undefined);
  const files =
    filesDir === undefined
      ? createSampleFilesRoute({ sendTimeoutMs })
      : createFilesRoute({ dir: filesDir, sendTimeoutMs });
  const metricsText: RouteHandler = async (req, res) => {
    // With keys on, the metrics are the operators' (they count every key's traffic): a key is needed.
    auth.ownerOf(req);
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  };
  const readyz: RouteHandler = async (_req, res) => {
    const ready = !draining && (await store().then((loaded) => loaded.ready(), () => false));
    if (ready) sendJson(res, 200, { status: 'ready' });
    else sendError(res, new HttpError(503, 'not_ready', draining ? 'This instance is shutting down.' : 'The stream store is not reachable yet.'));
  };
  // HEAD: GETs that only read serve it as they are; GETs that follow a stream answer only their
  // headers (or their 404) without following (see Router.get).
  const router = new Router()
    .on('GET', '/', webPage)
    .get('/assets/:file', createWebAssetRoute({ sourceMaps: sourceMapsFromEnv(env.SLUICE_SOURCE_MAPS) }))
    .on('HEAD', '/', webPage)
    .get('/favicon.svg', webFavicon)
    .get('/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }))
    .get('/readyz', readyz)
    .get('/metrics', metricsText)
    .get('/demo/numbers', createDemoNumbers({ quotas, auth }))
    .on('POST', '/v1/chat', chat.chat)
    .on('POST', '/api/chat', chat.aiSdk)
    .get('/api/chat/:chatId/stream', resume.resumeChat, resume.resumeChatHead)
    .on('POST', '/v1/ag-ui', chat.agUi)
    .on('POST', '/v1/chat/completions', chat.completions)
    .get('/v1/models', chat.models)
    .get('/v1/streams/:id', resume.resume, resume.resumeHead)
    .on('DELETE', '/v1/streams/:id', resume.stop)
    .on('POST', '/v1/streams/:id/approvals/:approvalId', approvals.answer)
    .get('/v1/events', events.subscribe, events.subscribeHead)
    .on('POST', '/v1/events', events.publish)
    .on('POST', '/v1/jobs', jobs.create)
    .get('/v1/jobs/:id/events', jobs.events, jobs.head)
    // A download holds a `followers` slot while it is sent, like a stream: held downloads from one client are bounded.
    .get('/v1/files/:name', (req, res, context) => quotas.follow(req, context.owner, async () => void (await files(req, res, context))))
    .on('POST', '/mcp', mcp.handle)
    .on('GET', '/mcp', mcp.handle)
    .on('DELETE', '/mcp', mcp.handle);

  // The optional peers a request needed and found missing, already reported.
  const missingDependencies = new Set<string>();
  /** Answers an error that escaped a route; errors without a status of their own are also reported. */
  const answerError = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    // An abort is the client leaving (or the stream being stopped), never a failure to report.
    if (isAbortError(error)) {
      if (!res.headersSent && !res.destroyed) sendError(res, error);
      else res.destroy();
      return;
    }
    if (isSluiceError(error) && error.code === 'missing_dependency') {
      // Not a failure of this request: the install lacks an optional peer. One line per package
      // (every request needing it gets the same 501 until it is installed), no stack.
      const key = error instanceof MissingDependencyError ? error.packageName : error.message;
      if (!missingDependencies.has(key)) {
        missingDependencies.add(key);
        onWarn(`sluice: ${req.method ?? 'GET'} ${truncate((req.url ?? '/').split('?')[0]!)} answers 501 missing_dependency, as will every request that needs the package until it is installed (logged once): ${error.message}`);
      }
    } else if (error instanceof StreamFailedError && isReportedByRun(error.code)) {
      // A run's failure read back from its log: the run logged it, with the detail its clients do not get.
    } else if (!isSluiceError(error) || error.status >= 500 || isProviderFailureCode(error.code)) {
      // A provider's failure (a gateway request's: no run) whatever its status: clients get its public message only.
      // Refusals of a draining instance are expected, not failures; a full store is one line, not a stack.
      if (isSluiceError(error) && error.code === 'store_full') onWarn(`sluice: refused ${req.method ?? 'GET'} ${truncate(req.url ?? '')} (503 store_full): ${error.message}`);
      else if (!(isSluiceError(error) && (error.code === 'shutting_down' || error.code === 'not_ready'))) onError(error);
    }
    // After the head there is no status left to give: end the transfer as failed.
    if (res.headersSent) res.destroy();
    else sendError(res, error);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // Node only hands us request targets it could parse; a URL that still fails is a bad request.
      sendError(res, new HttpError(400, 'bad_request', `The request target ${quote(req.url ?? '')} is not a valid URL.`));
      return;
    }
    try {
      // Before auth: a browser's preflight carries no credentials.
      if (cors.handle(req, res)) return;
      const isProtected = PROTECTED.test(url.pathname);
      // Auth off: the API answers only requests that name this server by an address, localhost or
      // an allowed name (a page that rebound its own name to this machine sends that name).
      if (isProtected && !auth.enabled && !hostAllowed(req.headers.host, allowedHosts)) throw forbiddenHost(req.headers.host ?? '');
      // The owner is computed once per request (a 401 here when auth is on and the key is bad).
      const owner = isProtected ? auth.ownerOf(req) : undefined;
      if (draining && req.method !== 'GET' && req.method !== 'HEAD' && !DURING_DRAIN.has(url.pathname)) throw shuttingDown();
      const { handler: route, params } = router.match(req.method ?? 'GET', url.pathname);
      const result = route(req, res, { url, params, owner });
      if (result instanceof Promise) result.catch((error: unknown) => answerError(req, res, error));
    } catch (error) {
      answerError(req, res, error);
    }
  };

  return Object.assign(handler, {
    metrics,
    corsOrigins: cors.origins,
    describe(): string[] {
      const storeLine =
        options.store !== undefined
          ? `store: ${options.store.kind} (given by the caller)`
          : redisUrl !== undefined && redisUrl !== ''
            ? `store: Redis at ${redactUrl(redisUrl)} (streams resume on any instance sharing it)`
            : 'store: memory (this process only; set REDIS_URL=redis://… to resume streams across instances)';
      return [
        `model: ${models.defaultModel}${models.defaultModel === 'local' ? ' (the built-in demo model)' : ' (SLUICE_MODEL; a request may name another model, see GET /v1/models)'}${models.defaultModelMissing === undefined ? '' : ` — NOT USABLE: ${models.defaultModelMissing} is not set, so every chat on the default model fails with a 500; set it`}${models.defaultModel === 'local' ? '; switch with SLUICE_MODEL=openai:gpt-4o-mini and OPENAI_API_KEY, SLUICE_MODEL=anthropic:claude-haiku-4-5 and ANTHROPIC_API_KEY, or SLUICE_MODEL=openai-compatible:<model> and OPENAI_COMPATIBLE_BASE_URL' : ''}`,
        storeLine,
        apiKeys.length > 0
          ? `auth: on (${apiKeys.length} API key${apiKeys.length === 1 ? '' : 's'}; /v1/* and /api/* need Authorization: Bearer <key> or x-api-key)`
          : `auth: off (set SLUICE_API_KEYS=key1,key2 to require API keys on /v1/* and /api/*); the API answers requests to this server by IP address, localhost${allowedHosts.length > 0 ? ` or ${allowedHosts.join(', ')}` : ''} (${ALLOWED_HOSTS_ENV})`,
        describeLimits(quotas.limits, apiKeys.length > 0),
        cors.origins.length > 0 ? `CORS: ${cors.origins.join(', ')}` : 'CORS: off (set SLUICE_CORS_ORIGINS=https://app.example.com to allow browsers from other origins)',
        streams.padding
          ? 'padding: on (frames of generated content are padded so their sizes do not reveal token lengths; set SLUICE_PADDING=off to turn it off, see docs/padding.md)'
          : 'padding: off (SLUICE_PADDING=off: frame sizes may reveal token lengths to an observer of the encrypted traffic; unset it to pad, see docs/padding.md)',
        mcpConnection?.describe() ??
          (Object.keys(mcpServers).length > 0 ? `MCP: connecting to ${Object.keys(mcpServers).join(', ')}` : 'MCP: no servers (set SLUICE_MCP_SERVERS to offer their tools); sluice\'s tools are served at POST /mcp'),
      ];
    },
    drainMs,
    mcpReady,
    shutdown(shutdownOptions: { drainMs?: number } = {}): Promise<void> {
      shutdownPromise ??= (async () => {
        draining = true;
        quotas.close();
        // With a shared store (Redis), clients resume on another instance now while the
        // generations here go on writing to it. With memory, no other instance has their events:
        // followers stay and see their generation finish within the drain.
        const loadedStore = await storePromise?.catch(() => undefined);
        if (loadedStore !== undefined && loadedStore.kind !== 'memory') followers.dropAll();
        const loaded = await streamsPromise?.catch(() => undefined);
        await loaded?.runs.drain(shutdownOptions.drainMs ?? drainMs);
        followers.dropAll();
        await mcp.close();
        await mcpReady;
        await mcpConnection?.close();
        // A store the caller gave is the caller's to close.
        if (options.store === undefined) await loadedStore?.close();
      })();
      return shutdownPromise;
    },
  });
}

/**
 * Options of {@link serve}: the app's, where to listen, and the server's defences (timeouts and the
 * connection cap, each also read from its `SLUICE_*` variable; see {@link ServerLimits}).
 */
export interface ServeOptions extends AppOptions, ServerLimits {
  /** @defaultValue `PORT` (from `env`), else 3000 */
  port?: number;
  /** @defaultValue `HOST` (from `env`), else `127.0.0.1` (`0.0.0.0` exposes the server) */
  host?: string;
  /**
   * Listening sockets on the port (Linux: `SO_REUSEPORT`, within this process). Node accepts one
   * connection per listening socket per turn of its event loop, so a server busy with many
   * streams accepts new connections faster with a few (docs/server.md#listening-sockets). While
   * it listens, another process of the same user may join the port. A port another process
   * listens on still fails with `EADDRINUSE`. One on other platforms and in `cluster` workers.
   * Env: `SLUICE_LISTEN_SOCKETS`.
   * @defaultValue 1
   */
  listenSockets?: number;
}

/**
 * Starts the app on a server that defends itself against slow, idle and too many clients.
 * @param options - app options, port and host, limits
 * @returns the listening server
 * @example
 * ```ts
 * const server = await serve({ port: 3000, maxConnections: 5000 });
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<Server> {
  const env = options.env ?? process.env;
  const fromEnv = serverLimitsFromEnv(env);
  // Checked before the app opens anything (MCP servers, Redis).
  const listenSockets = options.listenSockets === undefined ? (listenSocketsFromEnv(env) ?? 1) : checkListenSockets(options.listenSockets);
  const limits: ServerLimits = {};
  for (const key of Object.keys(SERVER_LIMITS_ENV) as (keyof ServerLimits)[]) {
    const value = options[key] ?? fromEnv[key];
    if (value !== undefined) limits[key] = value;
  }
  // The limits wrap the app in a listener of their own, which keeps the app reachable
  // (WRAPPED_LISTENER): `shutdownServer()` and `startupLog()` find it through the server.
  const app = createApp(options);
  const server = createLimitedServer(app, limits);
  const port = options.port ?? Number(env.PORT?.trim() || 3000);
  const host = options.host ?? (env.HOST?.trim() || '127.0.0.1');
  // The startup log lists the MCP servers with their tool counts.
  await app.mcpReady;
  try {
    await listenShared(server, port, host, listenSockets);
  } catch (error) {
    // Not listening (EADDRINUSE, EACCES): close what the app opened (its Redis connections), so a
    // process that cannot serve also exits instead of staying up with nothing to do.
    await app.shutdown({ drainMs: 0 }).catch(() => undefined);
    throw error;
  }
  return server;
}

/**
 * What `sluice serve` prints at start: where it listens (`sluice listening on http://HOST:PORT`,
 * the line scripts wait for), then what each app on the server says of itself (model, store,
 * auth, limits, CORS, padding, MCP; see {@link AppHandler.describe}).
 * @param server - a listening server from {@link serve}
 * @returns the lines
 */
export function startupLog(server: Server): string[] {
  const address = server.address();
  const loopback = typeof address === 'object' && address !== null && (address.address === '127.0.0.1' || address.address === '::1');
  // Loopback prints as `localhost`, the address a browser on this machine opens (and the line
  // `npm start` has always printed).
  const where =
    typeof address === 'object' && address !== null
      ? `http://${loopback ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : String(address);
  const lines = [`sluice listening on ${where}`];
  if (loopback) lines.push(`  only this machine can connect (HOST=${(address as { address: string }).address}; set HOST=0.0.0.0 to expose it)`);
  const sockets = listenSocketsOf(server);
  if (sockets.listening > 1) lines.push(`  ${sockets.listening} listening sockets on the port (SLUICE_LISTEN_SOCKETS; other processes of this user may join it)`);
  else if (sockets.asked > 1) {
    lines.push(`  1 listening socket, not the ${sockets.asked} asked for (SLUICE_LISTEN_SOCKETS): more need Linux, a Node with reusePort (22.12+ or 23.1+), no cluster worker and free file descriptors`);
  }
  for (const app of appsOf(server)) lines.push(...app.describe().map((line) => `  ${line}`));
  return lines;
}
