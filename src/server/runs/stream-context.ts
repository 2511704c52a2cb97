/**
 * What the streaming routes share: the store, the runs and followers of this instance, and the
 * three steps every streaming route takes in order — parse (the route's own), run (start one, or
 * find the stream the request may follow), follow (answer with a follower of it). A route gets
 * all of it with one `await context.streams()`; the owner of a request comes from the app, which
 * computed it once (`RouteContext.owner`).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STREAM_HEADERS } from '../../core/stream-engine.ts';
import type { Format, StreamResult } from '../../core/types.ts';
import type { AgentFormat } from '../../protocol/agent-format.ts';
import { aheadOfLog } from '../../store/errors.ts';
import type { StoredEvent, StreamInfo, StreamStore } from '../../store/types.ts';
import type { SseMessage } from '../../sse/encode.ts';
import { sse } from '../../sse/sse-format.ts';
import { HttpError, quote } from '../http-error.ts';
import type { Quotas } from '../quotas/quotas.ts';
import { logFollower, respond, type FollowerSet, type RespondOptions } from './follow-stream.ts';
import type { RunManager, StartedRun, StartRunOptions } from './run-manager.ts';

/** The response header naming a stream (resume it at `GET /v1/streams/<id>`). */
export const STREAM_ID_HEADER = 'x-stream-id';

/** What the streaming routes of one app share. */
export interface StreamContext {
  /** The streams of this instance, once the store is loaded (Redis is imported lazily): await it once per request. */
  streams(): Promise<Streams>;
  /** The per-key (per-address) quotas new runs and followers count against. */
  quotas: Quotas;
  /** Whether the instance is shutting down: new streams get 503. */
  draining(): boolean;
  /** Token-length padding in every format this app writes (`SLUICE_PADDING`, docs/padding.md). */
  padding: boolean;
}

/** Options of {@link Streams.follow}. */
export interface FollowOptions {
  /** The stream to follow. */
  id: string;
  /** The last event id the client has: the events with a greater id follow, in order, then live. @defaultValue 0 */
  after?: number;
  /** A fresh codec for this response. */
  format: AgentFormat;
  headers?: Record<string, string>;
  /** The run this request just started: the follower takes over its hold, and an `error` first event becomes an HTTP error while the head is not sent. */
  run?: StartedRun;
  /** Told each event before it is encoded; true ends the response cleanly after it (see `logFollower`). */
  until?: ((stored: StoredEvent) => boolean) | undefined;
}

/** The store, runs and followers of one instance, as the routes use them. */
export interface Streams {
  readonly store: StreamStore;
  readonly runs: RunManager;
  /** Starts a run for a request (503 while draining). Answer with `follow({ run })` right after, with nothing awaited between. */
  start(options: StartRunOptions): Promise<StartedRun>;
  /**
   * The stream `owner` may follow from `after`.
   * @throws HttpError 404 when it is unknown, expired or another key's; 409 `ahead_of_log` when `after` is past its log's end
   */
  find(id: string, owner: string | undefined, after?: number): Promise<StreamInfo>;
  /** Answers with a follower of a stream: the events after `after`, each with its id in the log, then live. */
  follow(res: ServerResponse, options: FollowOptions): Promise<StreamResult>;
  /**
   * Answers with a subscription to a topic: its events after `after` (within its history), then live.
   * `owner` is the namespace the topic lives in (undefined: shared).
   */
  followTopic(res: ServerResponse, topic: string, options: { after?: string | undefined; owner?: string | undefined }): Promise<StreamResult>;
}

/** Options of {@link createStreams}. */
export interface CreateStreamsOptions {
  store: StreamStore;
  runs: RunManager;
  followers: FollowerSet;
  /** Whether the instance is shutting down. */
  draining: () => boolean;
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
  return new HttpError(404, 'not_found', `No stream ${quote(id)}: it is unknown, expired, or belongs to another API key.`);
}

/**
 * Creates the streams of an instance.
 * @param options - the loaded store, the run manager, the follower set and the response settings
 * @returns what the routes use
 */
export function createStreams(options: CreateStreamsOptions): Streams {
  const { store, runs, followers } = options;
  /** The settings every follower shares. */
  const base = <T>(format: Format<T>): RespondOptions<T> => ({
    format,
    followers,
    heartbeatMs: options.heartbeatMs,
    sendTimeoutMs: options.sendTimeoutMs,
    onResponse: options.onResponse,
  });
  return {
    store,
    runs,

    start(runOptions) {
      if (options.draining() || runs.draining) return Promise.reject(shuttingDown());
      return runs.start(runOptions);
    },

    async find(id, owner, after = 0) {
      const info = await store.info(id);
      if (info === undefined || info.owner !== owner) throw streamNotFound(id);
      // Never clamped to the end: the events after an id the log has not reached are not known.
      if (after > info.lastId) throw aheadOfLog(id, after, info.lastId);
      return info;
    },

    follow(res, { id, after = 0, format, headers, run, until }) {
      // The first response's own head says whether a first `error` can still be an HTTP error.
      const log = logFollower(store, id, after, run === undefined ? false : res, format, until);
      const follower = base(log.format);
      follower.headers = { [STREAM_ID_HEADER]: id, ...headers };
      // The run's first response takes over the starting request's hold; any other attaches now.
      follower.attach = run === undefined ? () => runs.attach(id) : () => run.release;
      return respond(res, log.source, follower);
    },

    followTopic(res, topic, { after, owner }) {
      const follower = base(sse());
      // An idle topic still answers at once: the head is not held for the first event.
      follower.holdHeadersMs = 0;
      return respond(res, topicMessages(store, topic, after, owner), follower);
    },
  };
}

/** A topic's events as SSE messages, each with its id in the topic's history. */
function topicMessages(store: StreamStore, topic: string, after: string | undefined, owner: string | undefined): (signal: AbortSignal) => AsyncIterable<SseMessage> {
  return async function* messages(signal) {
    const options: { after?: string; signal: AbortSignal; owner?: string } = { signal };
    if (after !== undefined && after !== '') options.after = after;
    if (owner !== undefined) options.owner = owner;
    for await (const event of store.subscribe(topic, options)) {
      const message: SseMessage = { id: event.id, data: event.data };
      if (event.event !== undefined) message.event = event.event;
      yield message;
    }
  };
}

/**
 * The event id a resume starts after: `Last-Event-ID` header, else `?last_event_id=`, else 0. An
 * empty one is none (as the SSE spec has it), as on the topic route.
 * @throws HttpError 400 when it is not a non-negative integer
 */
export function lastEventId(req: IncomingMessage, url: URL): number {
  const header = req.headers['last-event-id'];
  const raw = (typeof header === 'string' && header !== '' ? header : undefined) ?? (url.searchParams.get('last_event_id') || '0');
  const text = raw.trim();
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new HttpError(400, 'invalid_last_event_id', `Expected Last-Event-ID (or ?last_event_id=) to be an event id of this stream (0, 1, 2 …), got ${quote(raw)}.`);
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
export function sendStreamHead(res: ServerResponse, format: { contentType: string; headers?: Readonly<Record<string, string>> }, headers: Record<string, string> = {}): void {
  res.writeHead(200, { ...STREAM_HEADERS, ...format.headers, 'content-type': format.contentType, ...headers });
  res.end();
}
