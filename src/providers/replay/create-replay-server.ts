/**
 * A local HTTP server that replays recorded provider responses byte for byte, for tests of code
 * that talks to OpenAI, Anthropic or any SSE API. Node only.
 *
 * @module
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { splitBody } from './split-body.ts';
import type { ReplayChunking } from './split-body.ts';

/** One response the server plays. */
export interface ReplayResponse {
  /** The body: a recorded `.sse` stream or a JSON error document. */
  body: string | Uint8Array;
  /** The HTTP status. @defaultValue 200 */
  status?: number;
  /** Response headers. @defaultValue `content-type: text/event-stream; charset=utf-8` for status 200, `application/json` otherwise */
  headers?: Record<string, string>;
  /** How the body is cut into writes. @defaultValue 'events' */
  chunking?: ReplayChunking;
  /** A slow drip: the wait before each write after the first. @defaultValue 0 */
  chunkDelayMs?: number;
  /** Wait before sending the status and headers. @defaultValue 0 */
  headersDelayMs?: number;
  /** A drop mid-stream: destroy the socket once this many body bytes were written. */
  dropAfterBytes?: number;
  /** A stall: stop writing after this many body bytes and keep the connection open until the client leaves. */
  stallAfterBytes?: number;
}

/** A request the server received, and what became of its connection. */
export interface ReplayRequest {
  method: string;
  /** The path with its query string. */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as text. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
  /** `performance.now()` when its response closed, once it has. */
  closedAt: number | undefined;
  /** Whether the connection closed before the whole response was written (client abort or a drop). */
  aborted: boolean | undefined;
  /** Resolves when the response closes, finished or not. */
  closed: Promise<void>;
}

/** What answers a route: one response for every request, a list played in turn (the last one repeats), or a function. */
export type ReplayHandler =
  | ReplayResponse
  | readonly ReplayResponse[]
  | ((request: ReplayRequest, index: number) => ReplayResponse | Promise<ReplayResponse>);

/** Options of {@link createReplayServer}. */
export interface ReplayServerOptions {
  /** Routes by `"METHOD /path"` or `"/path"` (any method); the query string is ignored. Unknown routes get a JSON 404. */
  routes: Record<string, ReplayHandler>;
  /** The interface to listen on. @defaultValue '127.0.0.1' */
  host?: string;
}

/** A running replay server. */
export interface ReplayServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request received, in order. */
  requests: ReplayRequest[];
  /**
   * Waits until `count` requests have arrived.
   * @param count - how many
   * @param timeoutMs - fails with a message after this long @defaultValue 5000
   */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReplayRequest[]>;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

function routeKey(method: string, path: string): [string, string] {
  const bare = path.split('?')[0] ?? path;
  return [`${method} ${bare}`, bare];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: `json` stays undefined and `body` has the text.
    return undefined;
  }
}

/**
 * Starts a server on `127.0.0.1:0` that answers each route with recorded bytes, and records the
 * requests it gets and when their connections close (so a test can assert that an aborted client
 * really closed the upstream connection).
 * @param options - the routes
 * @returns the running server
 * @example
 * ```ts
 * import { createReplayServer, readReplayFixture } from 'sluice/replay';
 * import { createOpenAIProvider } from 'sluice/providers';
 *
 * const server = await createReplayServer({
 *   routes: {
 *     'POST /v1/chat/completions': [
 *       await readReplayFixture('fixtures/openai-chat', 'error-429-rate-limit.json'),
 *       { ...(await readReplayFixture('fixtures/openai-chat', 'text-basic.sse')), chunking: { seed: 7 } },
 *     ],
 *   },
 * });
 * const openai = createOpenAIProvider({ apiKey: 'test', baseURL: `${server.url}/v1` });
 * for await (const event of openai({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })) console.log(event);
 * console.log(server.requests.length); // 2: the 429, then the stream
 * await server.close();
 * ```
 */
export async function createReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const requests: ReplayRequest[] = [];
  const counts = new Map<string, number>();
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      // A failing handler must not take the test process down; answer 500 if still possible.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(error) } }));
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const body = await readBody(req);
    let markClosed = (): void => undefined;
    const record: ReplayRequest = {
      method,
      path,
      headers: { ...req.headers },
      body,
      json: parseJson(body),
      receivedAt: performance.now(),
      closedAt: undefined,
      aborted: undefined,
      closed: new Promise<void>((resolve) => {
        markClosed = resolve;
      }),
    };
    res.once('close', () => {
      record.closedAt = performance.now();
      record.aborted = !res.writableFinished;
      markClosed();
    });
    requests.push(record);
    for (const wake of waiters) wake();

    const [withMethod, bare] = routeKey(method, path);
    const key = withMethod in options.routes ? withMethod : bare;
    const handler = options.routes[key];
    if (handler === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `No replay route for ${withMethod}.`, type: 'not_found' } }));
      return;
    }
    const index = counts.get(key) ?? 0;
    counts.set(key, index + 1);
    const response =
      typeof handler === 'function'
        ? await handler(record, index)
        : Array.isArray(handler)
          ? (handler as readonly ReplayResponse[])[Math.min(index, (handler as readonly ReplayResponse[]).length - 1)]
          : (handler as ReplayResponse);
    if (response === undefined) throw new Error(`The replay route ${key} has an empty list of responses.`);
    await play(res, response);
  }

  async function play(res: ServerResponse, response: ReplayResponse): Promise<void> {
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    const status = response.status ?? 200;
    const bytes = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
    const headers = response.headers ?? {
      'content-type': status === 200 ? 'text/event-stream; charset=utf-8' : 'application/json',
    };
    try {
      if (response.headersDelayMs) await delay(response.headersDelayMs, undefined, { signal: closed.signal });
      res.writeHead(status, headers);
      res.flushHeaders();
      let written = 0;
      const chunks = splitBody(bytes, response.chunking ?? 'events');
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0 && response.chunkDelayMs) await delay(response.chunkDelayMs, undefined, { signal: closed.signal });
        const limit = Math.min(response.dropAfterBytes ?? Infinity, response.stallAfterBytes ?? Infinity);
        const part = chunk.subarray(0, Math.max(0, limit - written));
        if (part.length > 0 && !res.write(part)) await once(res, 'drain', { signal: closed.signal });
        written += part.length;
        if (written >= limit) {
          if (response.dropAfterBytes !== undefined && written >= response.dropAfterBytes) {
            // Let the bytes leave before cutting the connection, as a real drop mid-stream would.
            await new Promise<void>((resolve) => res.write('', () => resolve()));
            res.socket?.destroy();
            return;
          }
          // Stalled: keep the connection open until the client gives up.
          await once(res, 'close');
          return;
        }
      }
      res.end();
    } catch (error) {
      // The client went away while we waited: nothing left to write.
      if (closed.signal.aborted) return;
      throw error;
    }
  }

  server.listen(0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    requests,
    async waitForRequests(count, timeoutMs = 5000) {
      if (requests.length >= count) return requests;
      let wake = (): void => undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          wake = () => {
            if (requests.length >= count) resolve();
          };
          waiters.add(wake);
          timer = setTimeout(
            () => reject(new Error(`Expected ${count} requests within ${timeoutMs} ms, got ${requests.length}.`)),
            timeoutMs,
          );
        });
      } finally {
        waiters.delete(wake);
        clearTimeout(timer);
      }
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
