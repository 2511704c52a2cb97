/**
 * What the streaming routes share: the store, the runs and followers of this instance, auth, and
 * the helpers that start a run and follow a stream the same way on every route.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Format, StreamResult } from '../../core/types.ts';
import type { AgentEvent } from '../../protocol/types.ts';
import type { StreamInfo, StreamStore } from '../../store/types.ts';
import type { Auth } from '../auth.ts';
import type { Quotas } from '../quotas/quotas.ts';
import { STREAM_HEADERS } from '../../core/stream-engine.ts';
import { HttpError } from '../http-error.ts';
import { followStream, type FollowerSet } from './follow-stream.ts';
import type { Run, RunManager, StartRunOptions } from './run-manager.ts';

/** The response header naming a stream (resume it at `GET /v1/streams/<id>`). */
export const STREAM_ID_HEADER = 'x-stream-id';

/** What the streaming routes of one app share. */
export interface StreamContext {
  /** The store, once it is loaded (Redis is imported lazily). */
  store(): Promise<StreamStore>;
  /** The runs of this instance, once the store is loaded. */
  runs(): Promise<RunManager>;
  followers: FollowerSet;
  auth: Auth;
  /** The per-key (per-address) quotas new runs and followers count against. */
  quotas: Quotas;
  /** Whether the instance is shutting down: new streams get 503. */
  draining(): boolean;
  heartbeatMs?: number | undefined;
  /** A follower whose client stops reading for this long is ended as a disconnect. */
  sendTimeoutMs?: number | undefined;
  /** Told what each follower did once it is over (bytes sent, disconnects: the metrics). */
  onResponse?: ((result: StreamResult) => void) | undefined;
}

/** The 503 of an instance that is shutting down; clients retry (elsewhere, behind a balancer). */
export function shuttingDown(): HttpError {
  return new HttpError(503, 'shutting_down', 'This instance is shutting down; retry the request (another instance will take it).', {
    headers: { 'retry-after': '1', connection: 'close' },
  });
}

/** The 404 of a stream that is unknown, expired, or another key's. */
export function streamNotFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `No stream ${JSON.stringify(id)}: it is unknown, expired, or belongs to another API key.`);
}

/**
 * A stream's info when `owner` may see it.
 * @throws HttpError 404 otherwise
 */
export async function ownedStream(context: StreamContext, id: string, owner: string | undefined): Promise<StreamInfo> {
  const info = await (await context.store()).info(id);
  if (info === undefined || info.owner !== owner) throw streamNotFound(id);
  return info;
}

/** Starts a run for a request (503 while draining). */
export async function startRun(context: StreamContext, options: StartRunOptions): Promise<Run> {
  if (context.draining()) throw shuttingDown();
  const runs = await context.runs();
  if (runs.draining) throw shuttingDown();
  return runs.start(options);
}

/**
 * Answers a request with a follower of stream `id`.
 * @param req - the request (its owner was checked by the caller)
 * @param res - the response
 * @param options - the stream, where to start, the codec
 */
export async function answerWithFollower(
  context: StreamContext,
  res: ServerResponse,
  options: { id: string; after?: number; format: Format<AgentEvent>; headers?: Record<string, string>; first?: boolean },
): Promise<StreamResult> {
  const store = await context.store();
  const runs = await context.runs();
  const follow: Parameters<typeof followStream>[1] = {
    store,
    id: options.id,
    format: options.format,
    headers: { [STREAM_ID_HEADER]: options.id, ...options.headers },
    followers: context.followers,
    heartbeatMs: context.heartbeatMs,
    sendTimeoutMs: context.sendTimeoutMs,
    onLeave: (id) => runs.followerLeft(id),
  };
  if (options.after !== undefined) follow.after = options.after;
  if (options.first !== undefined) follow.first = options.first;
  const result = await followStream(res, follow);
  context.onResponse?.(result);
  return result;
}

/**
 * The event id a resume starts after: `Last-Event-ID` header, else `?last_event_id=`, else 0.
 * @throws HttpError 400 when it is not a non-negative integer
 */
export function lastEventId(req: IncomingMessage, url: URL): number {
  const header = req.headers['last-event-id'];
  const raw = (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('last_event_id') ?? '0';
  const text = raw.trim();
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new HttpError(400, 'invalid_last_event_id', `Expected Last-Event-ID (or ?last_event_id=) to be an event id of this stream (0, 1, 2 …), got ${JSON.stringify(raw)}.`);
  }
  return Number(text);
}

/**
 * Answers a `HEAD` of a stream-following route: the head a `GET` would get (status 200, the
 * format's content type, the streaming headers), with no body and without following anything, so
 * a `HEAD` never attaches a follower or starts a generation.
 * @param res - the response
 * @param format - the codec the `GET` would use
 * @param headers - extra headers (`x-stream-id`)
 */
export function sendStreamHead(res: ServerResponse, format: Format<AgentEvent> | { contentType: string; headers?: Readonly<Record<string, string>> }, headers: Record<string, string> = {}): void {
  res.writeHead(200, { ...STREAM_HEADERS, ...format.headers, 'content-type': format.contentType, ...headers });
  res.end();
}
