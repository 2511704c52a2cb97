/**
 * The fuzzing of every input (issue 16): request generators derived from the request schemas
 * (zod → JSON Schema → fast-check), strings full of line breaks and frame syntax, random bytes,
 * headers, `Last-Event-ID`s and paths; the checks each response must pass; a real app to send them
 * to. Used by test/fuzz.node.test.ts (a fixed seed, modest counts) and scripts/fuzz.ts (`npm run
 * fuzz`, 100,000 cases per route).
 *
 * What every response must show: no 5xx; a 4xx is `application/json` with
 * `{"error":{"code","message"}}` (strings, the code non-empty); a stream parses in its own wire
 * format with no frame, field or line added by a string: every SSE block has only `event`/`id`/
 * `data`/comment lines, at most one of each field and exactly one `data` line of JSON (or
 * `[DONE]`), NDJSON lines are agent events, no event is of the sentinel type `injected` the
 * strings try to smuggle in, and no response header is one a string tried to add. And the app
 * never reports an internal error (its `onError`) nor lets an exception escape.
 *
 * @module
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import fc from 'fast-check';
import { z } from 'zod';
import { createBuiltinTools } from '../src/agent/tools/builtin-tools.ts';
import { AGENT_EVENT_TYPES } from '../src/protocol/types.ts';
import { createParser } from '../src/sse/parse.ts';
import type { SseEvent } from '../src/sse/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { serve } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { AgUiRunBody, AiSdkChatBody, NativeChatBody, OpenAiChatBody } from '../src/server/request-schemas.ts';
import { JobBody } from '../src/server/routes/jobs.ts';

/** The type the injected frames claim; a parsed output never has it. */
export const SENTINEL = 'injected';

/** Pieces that would add a frame, a field, a line or a header if written unescaped anywhere. */
const NASTY = [
  '\n',
  '\r',
  '\r\n',
  '\n\n',
  '\r\n\r\n',
  '\u2028',
  '\u2029',
  '\u0085',
  '"',
  '\\',
  '\0',
  '\ud800',
  '\udfff',
  '🎉',
  '数据',
  `\n\ndata: {"type":"${SENTINEL}"}\n\n`,
  `"}\n\nevent: ${SENTINEL}\ndata: {"type":"${SENTINEL}"}\n\n`,
  `"}\n{"type":"${SENTINEL}"}\n`,
  '\r\nx-injected: 1\r\n',
  `event: ${SENTINEL}\n`,
  'id: 999\n',
  'retry: 1\n',
  ': ping\n\n',
  'data: [DONE]\n\n',
  '[DONE]',
  '0\r\n\r\n',
  '${x}',
  '</script><script>alert(1)</script>',
  '../../etc/passwd',
  '%2e%2e%2f',
  'What is backpressure?',
  'What is 17*23?',
  'Search the docs for resume',
];

/** Strings made of the pieces above, arbitrary code points (lone surrogates too) and plain text. */
export const nastyString: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ maxLength: 8 })), { maxLength: 5 })
  .map((parts) => parts.join(''));

/** Any JSON value, small, its strings nasty. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** A message part as the chat routes know them, or close to it. */
const partLike: fc.Arbitrary<unknown> = fc.record(
  {
    type: fc.constantFrom('text', 'reasoning', 'tool-call', 'tool-result', 'file', 'step-start', 'dynamic-tool', 'tool-calculator', SENTINEL),
    text: nastyString,
    toolCallId: nastyString,
    toolName: fc.oneof(fc.constantFrom('calculator', 'search_docs'), nastyString),
    input: anyJson,
    output: anyJson,
    state: fc.constantFrom('output-available', 'input-available', 'output-error'),
  },
  { requiredKeys: ['type'] },
);

/** What stands for a schema node that takes any value (`content`, `input`, `state` …). */
const anything: fc.Arbitrary<unknown> = fc.oneof(nastyString, fc.array(partLike, { maxLength: 3 }), anyJson);

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
};

/**
 * Values the schemas cannot say (a transform takes any value; only `local` is a model here), by
 * property name: mostly what gets a request past validation, so answers are fuzzed too, not only
 * refusals.
 */
const HINTS: Record<string, (schema: JsonSchema) => fc.Arbitrary<unknown>> = {
  model: () => fc.oneof({ weight: 6, arbitrary: fc.constant('local') }, { weight: 1, arbitrary: nastyString }),
  content: () =>
    fc.oneof({ weight: 6, arbitrary: nastyString }, { weight: 1, arbitrary: fc.array(fc.record({ type: fc.constant('text'), text: nastyString }), { minLength: 1, maxLength: 2 }) }, { weight: 1, arbitrary: anything }),
  role: (schema) =>
    fc.oneof({ weight: 3, arbitrary: fc.constant('user') }, { weight: 1, arbitrary: schema.enum === undefined ? nastyString : fc.constantFrom(...schema.enum) }),
  parts: () =>
    fc.array(fc.oneof({ weight: 5, arbitrary: fc.record({ type: fc.constant('text'), text: nastyString }) }, { weight: 1, arbitrary: partLike }), {
      minLength: 1,
      maxLength: 3,
    }),
};

/**
 * An arbitrary for the values a JSON Schema describes, strings nasty, arrays short, and now and
 * then a value of the wrong shape (so refusals are explored too).
 * @param schema - a JSON Schema from `z.toJSONSchema`
 * @param name - the property it is the schema of, for {@link HINTS}
 */
export function fromJsonSchema(schema: JsonSchema, name?: string): fc.Arbitrary<unknown> {
  const hint = name === undefined ? undefined : HINTS[name];
  const valid = hint === undefined ? validFromJsonSchema(schema) : hint(schema);
  return fc.oneof({ weight: 24, arbitrary: valid }, { weight: 1, arbitrary: anything });
}

function validFromJsonSchema(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const options = schema.anyOf ?? schema.oneOf;
  if (options !== undefined) return fc.oneof(...options.map((option) => fromJsonSchema(option)));
  const type = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  if (type.length > 1) return fc.oneof(...type.map((t) => validFromJsonSchema({ ...schema, type: t })));
  switch (type[0]) {
    case 'object': {
      const properties = schema.properties ?? {};
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, value] of Object.entries(properties)) shape[key] = fromJsonSchema(value, key);
      const record = fc.record(shape, { requiredKeys: (schema.required ?? []).filter((key) => key in shape) });
      if (schema.additionalProperties === false) return record;
      return fc.tuple(record, fc.dictionary(nastyString, anyJson, { maxKeys: 1 })).map(([known, extra]) => ({ ...extra, ...known }));
    }
    case 'array': {
      const min = schema.minItems ?? 0;
      return fc.array(schema.items === undefined ? anything : fromJsonSchema(schema.items), { minLength: Math.min(min, 3), maxLength: Math.max(Math.min(min, 3), Math.min(schema.maxItems ?? 3, 3)) });
    }
    case 'string':
      return fc.oneof(nastyString, fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 12, 12) }));
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -10, -1e6), max: Math.min(schema.maximum ?? 1000, 1e6) });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return anything;
  }
}

/** The JSON-Schema arbitrary of a zod schema (its input side). */
export function fromZod(schema: z.ZodType): fc.Arbitrary<unknown> {
  return fromJsonSchema(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
}

/** One request of a fuzz case. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** Header values an HTTP client can send (no CR, LF or NUL; Node's client refuses those itself). */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  nastyString.map((text) => text.replace(/[^\t\x20-\x7e]/g, '')),
  fc.constantFrom('0', '-1', '1', '99999999999999999999', 'abc', '1-0', '../1', '%0d%0a', ' ', 'ＩＤ'.replace(/[^\x20-\x7e]/g, '')),
);

const ACCEPTS = ['text/event-stream', 'application/x-ndjson', 'text/plain', '*/*', 'text/plain;q=0, */*', 'application/json', 'text/html', ''];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'text/plain', 'application/x-www-form-urlencoded', ''];

function json(path: string, body: fc.Arbitrary<unknown>, extra: fc.Arbitrary<Record<string, string>> = fc.constant({})): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(body, fc.constantFrom(...ACCEPTS), extra).map(([value, accept, headers]) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...(accept === '' ? {} : { accept }), ...headers },
    body: JSON.stringify(value) ?? 'null',
  }));
}

/** A path segment: nasty text percent-encoded, or raw path syntax. */
const segment: fc.Arbitrary<string> = fc.oneof(
  nastyString.map((text) => encodeURIComponent(text.isWellFormed() ? text : text.toWellFormed())),
  fc.constantFrom('..', '.', '', '%2e%2e', '%2F', '%00', '%ZZ', '%', 'v1', 'api', 'chat', 'streams', 'events', 'jobs', 'files', 'sample.txt', 'x?y=1', 'a#b', '%E6%95%B0'),
);

const ROUTE_PREFIXES = ['/', '/v1/', '/v1/streams/', '/v1/jobs/', '/v1/files/', '/api/chat/', '/assets/', '/demo/', '/v1/events', '/healthz', '/metrics'];

/** The fuzz targets: one per route, plus random requests anywhere. */
export const TARGETS: Record<string, fc.Arbitrary<FuzzRequest>> = {
  'POST /v1/chat': json('/v1/chat', fromZod(NativeChatBody)),
  'POST /api/chat': json('/api/chat', fromZod(AiSdkChatBody)),
  'POST /v1/ag-ui': json('/v1/ag-ui', fromZod(AgUiRunBody)),
  'POST /v1/chat/completions': json('/v1/chat/completions', fromZod(OpenAiChatBody)),
  'POST /v1/jobs': json('/v1/jobs', fromZod(JobBody)),
  'POST /v1/events': json(
    '/v1/events',
    fc.record(
      {
        topic: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:/-]{1,20}$/), nastyString),
        event: nastyString.filter((name) => name !== SENTINEL),
        data: anyJson,
      },
      { requiredKeys: [] },
    ),
  ),
  'GET /v1/events': fc
    .tuple(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:/-]{1,20}$/), nastyString), fc.option(headerValue), fc.option(nastyString))
    .map(([topic, lastEventId, query]) => ({
      method: 'GET',
      path: `/v1/events?topic=${encodeURIComponent(topic.toWellFormed())}${query === null ? '' : `&last_event_id=${encodeURIComponent(query.toWellFormed())}`}`,
      headers: { accept: 'text/event-stream', ...(lastEventId === null ? {} : { 'last-event-id': lastEventId }) },
    })),
  'GET /v1/streams/:id': fc
    .tuple(segment, fc.option(headerValue), fc.constantFrom('GET', 'HEAD', 'DELETE'), fc.constantFrom('/v1/streams/', '/v1/jobs/', '/api/chat/'))
    .map(([id, lastEventId, method, prefix]) => ({
      method,
      path: `${prefix}${id}${prefix === '/v1/jobs/' ? '/events' : prefix === '/api/chat/' ? '/stream' : ''}`,
      headers: lastEventId === null ? {} : { 'last-event-id': lastEventId },
    })),
  // DESIGN's approval answers; until the route exists it answers 404, which the checks accept.
  'POST /v1/streams/:id/approvals/:approvalId': fc
    .tuple(segment, segment, fc.record({ approved: fc.oneof(fc.boolean(), anyJson), reason: nastyString }, { requiredKeys: [] }), fc.constantFrom(...ACCEPTS))
    .map(([id, approvalId, body, accept]) => ({
      method: 'POST',
      path: `/v1/streams/${id}/approvals/${approvalId}`,
      headers: { 'content-type': 'application/json', ...(accept === '' ? {} : { accept }) },
      body: JSON.stringify(body),
    })),
  'any request': fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'PROPFIND', 'TRACE'),
      prefix: fc.constantFrom(...ROUTE_PREFIXES),
      segments: fc.array(segment, { maxLength: 3 }),
      headers: fc.dictionary(
        fc.constantFrom('accept', 'content-type', 'content-encoding', 'last-event-id', 'range', 'if-range', 'if-none-match', 'origin', 'authorization', 'x-api-key', 'x-forwarded-for', 'x-stream-id', 'x-fuzz'),
        headerValue,
        { maxKeys: 4 },
      ),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      body: fc.option(fc.oneof(fc.uint8Array({ maxLength: 256 }), nastyString, anyJson.map((value) => JSON.stringify(value) ?? 'null')), { nil: undefined }),
    })
    .map(({ method, prefix, segments, headers, contentType, body }) => ({
      method,
      path: prefix + segments.join('/'),
      headers: { ...(contentType === '' ? {} : { 'content-type': contentType }), ...headers },
      ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body: typeof body === 'string' ? body.toWellFormed() : body }),
    })),
};

/** A response as the checks see it. */
export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Whether the body was cut short by us (a live stream read for a while). */
  cut: boolean;
}

/** How long a response is read before it is cut (a subscription never ends by itself). */
const READ_MS = 2000;
const SUBSCRIPTION_READ_MS = 20;

/**
 * Sends a request and reads its response (a live stream for a bounded time).
 * @param base - the app's URL
 */
export function send(base: string, fuzz: FuzzRequest): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const body = fuzz.body === undefined ? undefined : typeof fuzz.body === 'string' ? Buffer.from(fuzz.body) : Buffer.from(fuzz.body);
    const req = request(
      `${base}${fuzz.path}`,
      { method: fuzz.method, headers: { ...fuzz.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let cut = false;
        const limit = fuzz.path.startsWith('/v1/events') ? SUBSCRIPTION_READ_MS : READ_MS;
        const timer = setTimeout(() => {
          cut = true;
          res.destroy();
        }, limit);
        const subscription = fuzz.method === 'GET' && fuzz.path.startsWith('/v1/events');
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          // A subscription is read until its first event (a replay) or the time runs out.
          if (subscription && /(?:^|\n\n)[^:\n][^]*?\n\n/.test(Buffer.concat(chunks).toString('utf8'))) {
            cut = true;
            res.destroy();
          }
        });
        const done = (): void => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), cut });
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const AGENT_TYPES: ReadonlySet<string> = new Set(AGENT_EVENT_TYPES);

/**
 * Checks one response.
 * @returns what is wrong with it, or undefined
 */
export function checkResponse(fuzz: FuzzRequest, response: FuzzResponse): string | undefined {
  const { status, headers } = response;
  if (status >= 500) return `status ${status}: ${response.body.toString('utf8').slice(0, 300)}`;
  if ('x-injected' in headers) return 'a header was injected';
  const type = String(headers['content-type'] ?? '');
  if (status >= 400) {
    if (fuzz.method === 'HEAD') return undefined;
    if (!type.startsWith('application/json')) return `status ${status} with content-type ${JSON.stringify(type)}`;
    let error: unknown;
    try {
      error = (JSON.parse(response.body.toString('utf8')) as { error?: unknown }).error;
    } catch {
      return `status ${status} with a body that is not JSON: ${JSON.stringify(response.body.toString('utf8').slice(0, 200))}`;
    }
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' || code === '' || typeof message !== 'string') return `status ${status} without {"error":{"code","message"}}: ${JSON.stringify(error)}`;
    return undefined;
  }
  const text = response.body.toString('utf8');
  // Topic events carry the publisher's data as it is: a string over several `data:` lines, not JSON.
  if (type.startsWith('text/event-stream')) return checkSse(text, response.cut, fuzz.path.startsWith('/v1/events'));
  if (type.startsWith('application/x-ndjson')) return checkNdjson(text, response.cut);
  return undefined;
}

/**
 * Every SSE block well formed: known fields, no sentinel, and (agent streams) one data line of
 * JSON; a topic's events may have several data lines of any text.
 */
function checkSse(text: string, cut: boolean, topic: boolean): string | undefined {
  const blocks = text.split('\n\n');
  // The last piece is what follows the last blank line: empty for a complete stream.
  const tail = blocks.pop()!;
  if (!cut && tail !== '') return `the stream ends inside a block: ${JSON.stringify(tail.slice(0, 200))}`;
  for (const block of blocks) {
    if (block === '') return 'an empty block (an extra blank line)';
    // Heartbeats: comment lines only.
    if (block.split('\n').every((line) => line.startsWith(':'))) continue;
    const counts: Record<string, number> = {};
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      if (field !== 'event' && field !== 'id' && field !== 'data' && field !== 'retry') return `an unknown field line ${JSON.stringify(line.slice(0, 100))}`;
      counts[field] = (counts[field] ?? 0) + 1;
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data = value;
      if (field === 'event' && value === SENTINEL) return 'an injected event name';
      if (line.includes('\r')) return `a CR inside a line ${JSON.stringify(line.slice(0, 100))}`;
    }
    if (Object.entries(counts).some(([field, count]) => count > 1 && !(topic && field === 'data'))) return `a field twice in one block: ${JSON.stringify(block.slice(0, 200))}`;
    if (data === undefined) {
      if (counts.retry === undefined) return `a block without data: ${JSON.stringify(block.slice(0, 200))}`;
      continue;
    }
    if (data === '[DONE]' || topic) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return `data that is not JSON: ${JSON.stringify(data.slice(0, 200))}`;
    }
    if (typeof parsed === 'object' && parsed !== null && (parsed as { type?: unknown }).type === SENTINEL) return 'an injected frame';
  }
  return undefined;
}

/** Every NDJSON line an agent event. */
function checkNdjson(text: string, cut: boolean): string | undefined {
  const lines = text.split('\n');
  const tail = lines.pop()!;
  if (!cut && tail !== '') return 'the stream ends inside a line';
  for (const line of lines) {
    let parsed: { type?: unknown };
    try {
      parsed = JSON.parse(line) as { type?: unknown };
    } catch {
      return `a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`;
    }
    if (typeof parsed.type !== 'string' || !AGENT_TYPES.has(parsed.type)) return `a line that is not an agent event: ${JSON.stringify(line.slice(0, 200))}`;
  }
  return undefined;
}

/** The app under fuzz: the real server (limits included) on a free port, the local model unpaced. */
export interface FuzzApp {
  url: string;
  /** Errors the app reported (`onError`): internal failures, none expected. */
  errors: unknown[];
  close(): Promise<void>;
}

/** Starts the app to fuzz. */
export async function startFuzzApp(): Promise<FuzzApp> {
  const errors: unknown[] = [];
  const server: Server = await serve({
    port: 0,
    host: '127.0.0.1',
    // The per-key limits (429) would refuse most of a long run's chats and topics: raised so the
    // answers are fuzzed, not only the refusals (which are JSON errors with a code all the same).
    env: {
      SLUICE_DETACH_GRACE_MS: '0',
      SLUICE_LIMIT_STREAMS: '1000',
      SLUICE_LIMIT_STREAMS_PER_MINUTE: '100000000',
      SLUICE_LIMIT_JOBS: '1000',
      SLUICE_LIMIT_PUBLISH_PER_MINUTE: '100000000',
      SLUICE_LIMIT_TOPICS: '100000000',
    },
    models: createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } }),
    tools: createBuiltinTools({ paceMs: 0 }),
    onError: (error) => errors.push(error),
    onWarn: () => undefined,
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What an accepted job or publish is checked through: the job's event stream, and the topic's
 * replay of the published event, which must come back as one event, its name and data unchanged.
 * @returns a problem, or undefined
 */
async function followUp(base: string, fuzz: FuzzRequest, response: FuzzResponse): Promise<string | undefined> {
  if (response.status !== 202) return undefined;
  const { id } = JSON.parse(response.body.toString('utf8')) as { id: string };
  if (fuzz.path === '/v1/jobs') {
    const request: FuzzRequest = { method: 'GET', path: `/v1/jobs/${encodeURIComponent(id)}/events`, headers: { 'last-event-id': '0' } };
    const events = await send(base, request);
    if (events.status !== 200) return `job ${id}: its events answered ${events.status}`;
    return checkResponse(request, events);
  }
  if (fuzz.path === '/v1/events' && /^[1-9]\d*$/.test(id)) {
    const body = JSON.parse(String(fuzz.body)) as { topic: string; event?: string; data: unknown };
    const request: FuzzRequest = { method: 'GET', path: `/v1/events?topic=${encodeURIComponent(body.topic)}`, headers: { 'last-event-id': String(Number(id) - 1) } };
    const replay = await send(base, request);
    const problem = checkResponse(request, replay);
    if (problem !== undefined) return `the replay of event ${id}: ${problem}`;
    const events: SseEvent[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    parser.feed(replay.body.toString('utf8'));
    const first = events[0];
    if (first === undefined) return `the replay of event ${id} is empty`;
    if (first.id !== id) return `the replay starts at ${JSON.stringify(first.id)}, not ${id}`;
    // A lone surrogate cannot travel in UTF-8: it arrives as U+FFFD, as any string written as UTF-8.
    if (first.event !== (body.event?.toWellFormed() ?? 'message')) return `event name ${JSON.stringify(body.event)} came back as ${JSON.stringify(first.event)}`;
    // SSE carries no CR: a string's line breaks arrive as LF.
    const expected = typeof body.data === 'string' ? body.data.toWellFormed().replace(/\r\n?/g, '\n') : JSON.stringify(body.data);
    if (first.data !== expected) return `data ${JSON.stringify(expected).slice(0, 100)} came back as ${JSON.stringify(first.data).slice(0, 100)}`;
  }
  return undefined;
}

/**
 * The property of one target: each generated request gets a response that passes the checks (and
 * what it created, its follow-up), and the app reports no internal error.
 */
export function fuzzProperty(app: FuzzApp, target: fc.Arbitrary<FuzzRequest>): fc.IAsyncPropertyWithHooks<[FuzzRequest]> {
  return fc.asyncProperty(target, async (fuzz) => {
    const response = await send(app.url, fuzz);
    const problem = checkResponse(fuzz, response) ?? (await followUp(app.url, fuzz, response));
    if (problem !== undefined) throw new Error(`${fuzz.method} ${fuzz.path}: ${problem}`);
    if (app.errors.length > 0) {
      const error = app.errors.splice(0)[0];
      throw new Error(`${fuzz.method} ${fuzz.path}: the app reported an internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  });
}
