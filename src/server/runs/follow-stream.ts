/**
 * Followers: every streaming response of the app, the first of a run as well as a resumed one and
 * an event-push subscription, goes through {@link respond}: registered (for shutdown and the
 * metrics) and attached (for the detach grace) from the moment it exists, sent, then detached,
 * unregistered and reported, on every exit, a synchronous throw included.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { SluiceError } from '../../core/errors.ts';
import { sendStream } from '../../core/node/send-stream.ts';
import type { Format, StreamOptions, StreamResult } from '../../core/types.ts';
import type { AgentFormat } from '../../protocol/agent-format.ts';
import type { ErrorEvent } from '../../protocol/types.ts';
import type { StoredEvent, StreamStore } from '../../store/types.ts';
import { errorEventStatus } from '../error-status.ts';

/**
 * A new run's first event was its `error`: thrown by the first response while its head is not sent
 * (see {@link logEvents}) so it is answered as an HTTP error status with a JSON body. Its message is the stored one,
 * which clients may see; the run that failed has logged the detail (see `isReportedByRun`).
 */
export class StreamFailedError extends SluiceError {
  override name = 'StreamFailedError';
  /** The stream whose first event it was. */
  readonly streamId: string;

  /**
   * @param streamId - the stream
   * @param event - its first event, an `error`
   */
  constructor(streamId: string, event: ErrorEvent) {
    // The event's `status` is a provider's own (500, 529, 401): the server answers its code's.
    super(event.code, event.message, { status: errorEventStatus(event) });
    this.streamId = streamId;
  }
}

/** The responses following streams on this instance, so shutdown can end them. */
export interface FollowerSet {
  /** Followers open now (`sluice_open_connections`). */
  readonly size: number;
  add(res: ServerResponse): void;
  delete(res: ServerResponse): void;
  /**
   * Ends every follower as a dropped connection (the socket is destroyed mid-body), so
   * `fetchEventStream` and `EventSource` reconnect with `Last-Event-ID`, to another instance.
   */
  dropAll(): void;
}

/**
 * Creates the follower set of an app.
 * @param onChange - told the number of open followers after each change
 * @returns the set
 */
export function createFollowerSet(onChange?: (size: number) => void): FollowerSet {
  const open = new Set<ServerResponse>();
  return {
    get size() {
      return open.size;
    },
    add(res) {
      open.add(res);
      onChange?.(open.size);
    },
    delete(res) {
      if (open.delete(res)) onChange?.(open.size);
    },
    dropAll() {
      // A clean end would read as "the stream is over" (fetchEventStream stops there); a
      // destroyed socket reads as a dropped connection, which clients resume.
      for (const res of open) res.destroy();
    },
  };
}

/** Options of {@link respond}. */
export interface RespondOptions<T> {
  format: Format<T>;
  headers?: Readonly<Record<string, string>> | undefined;
  heartbeatMs?: number | undefined;
  sendTimeoutMs?: number | undefined;
  holdHeadersMs?: number | undefined;
  followers: FollowerSet;
  /** Counts this response as a follower from now; returns its leave (the detach grace). */
  attach?: (() => () => void) | undefined;
  /** Told what the response did once it is over (bytes sent, disconnects: the metrics). */
  onResponse?: ((result: StreamResult) => void) | undefined;
}

/**
 * The one path from a source to a streaming response: attach and register, send, then detach,
 * unregister and report, whatever happens (a synchronous throw of `sendStream`, a bad option, a
 * head already sent, leaves nothing behind).
 * @param res - the response; its head must not have been sent
 * @param source - the items, started with the response's signal
 * @param options - the codec and where the follower is counted
 * @returns what happened, once the response is over
 */
export function respond<T>(res: ServerResponse, source: (signal: AbortSignal) => AsyncIterable<T>, options: RespondOptions<T>): Promise<StreamResult> {
  const { followers } = options;
  const leave = options.attach?.();
  followers.add(res);
  const over = (): void => {
    leave?.();
    followers.delete(res);
  };
  const streamOptions: StreamOptions<T> = { format: options.format, headers: options.headers ?? {} };
  if (options.heartbeatMs !== undefined) streamOptions.heartbeatMs = options.heartbeatMs;
  if (options.sendTimeoutMs !== undefined) streamOptions.sendTimeoutMs = options.sendTimeoutMs;
  if (options.holdHeadersMs !== undefined) streamOptions.holdHeadersMs = options.holdHeadersMs;
  let sending: Promise<StreamResult>;
  try {
    sending = sendStream(res, source, streamOptions);
  } catch (error) {
    over();
    throw error;
  }
  return sending.finally(over).then((result) => {
    options.onResponse?.(result);
    return result;
  });
}

/**
 * The first response of a new run, for the first-event check of {@link logEvents}: `true` (always
 * checked), or the response itself, whose `headersSent` is read when the first event arrives.
 */
export type FirstResponse = boolean | { readonly headersSent: boolean };

/**
 * Whether a first `error` event is still answered as an HTTP error: a first response whose head is not sent.
 * @param first - see {@link FirstResponse}
 */
function answersWithStatus(first: FirstResponse): boolean {
  return first === true || (first !== false && !first.headersSent);
}

/**
 * The events of a stream's log after `after`, in order, then live, each with its id in the log
 * (the codec writes that id; it never numbers events). With `first` (the first response of a new
 * run), an `error` as the first event is thrown instead while the response's head is not sent, so
 * it is answered as an HTTP error status with a JSON body (nothing was sent yet). Once the head is
 * out (the engine sends it with a heartbeat when its hold runs out before the first event: a slow
 * failure, a provider that retried for long), the `error` goes out as the logged event it is, with
 * its id, `retryable` and `status`, as a resume reads it: an error thrown then would reach the
 * client as the codec's local `error` (code and message only). With `until`, the source ends cleanly after the event
 * for which it returns true, while the stream goes on (a client that answers approvals with a
 * new request, see `pauseForApprovals`).
 *
 * The store's iterator is handed out as is when there is nothing to check; otherwise one plain
 * iterator does both checks in one `then` per event (no async generator, no iterator per check).
 * A follower with a codec uses {@link logFollower}, which checks `until` as each event is encoded
 * and needs no `then` past the first event.
 * @param store - the store
 * @param id - the stream
 * @param after - the last event id the client has (0 = from the start)
 * @param first - whether this is the run's first response (the response itself: checked while its head is not sent)
 * @param until - told each event before it is sent; true ends the source after it
 * @returns the source of a follower
 */
export function logEvents(
  store: StreamStore,
  id: string,
  after: number,
  first: FirstResponse,
  until?: (stored: StoredEvent) => boolean,
): (signal: AbortSignal) => AsyncIterable<StoredEvent> {
  if (first === false && until === undefined) return (signal) => store.read(id, { after, signal });
  return (signal) => readLog(store, id, after, first, signal, { last: false }, until);
}

/** Set when the event `until` marked was handed out: the next `next()` ends the source. */
interface LogEnd {
  last: boolean;
}

/**
 * The log as a plain iterator: the first-event check in one `then` on the first event only, `until`
 * (when given here) in one `then` per event; otherwise the store's own promise goes out.
 */
function readLog(store: StreamStore, id: string, after: number, first: FirstResponse, signal: AbortSignal, end: LogEnd, until?: (stored: StoredEvent) => boolean): AsyncIterable<StoredEvent> {
  const stored = store.read(id, { after, signal })[Symbol.asyncIterator]();
  let checked = first === false;
  const step = (result: IteratorResult<StoredEvent>): IteratorResult<StoredEvent> => {
    if (result.done === true) return result;
    if (!checked) {
      checked = true;
      const { event } = result.value;
      // Read now, as the engine is about to encode it: nothing runs between this and the engine
      // seeing the throw (or the event), so the head cannot go out in between.
      if (event.type === 'error' && answersWithStatus(first)) throw new StreamFailedError(id, event);
    }
    if (until !== undefined && until(result.value)) end.last = true;
    return result;
  };
  const done = async (): Promise<IteratorResult<StoredEvent>> => {
    await stored.return?.();
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterator<StoredEvent> & AsyncIterable<StoredEvent> = {
    // Once the first event is checked and there is no `until` here, the store's own promise goes out.
    next: () => (end.last ? done() : checked && until === undefined ? stored.next() : stored.next().then(step)),
    return: done,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/**
 * A follower's source and codec together: as {@link logEvents}, but `until` is told each event
 * as the codec encodes it (the engine encodes an event as soon as the source hands it out, before
 * it asks for the next), so past the first event the source hands out the store's own promises:
 * no `then`, no promise of ours per event.
 * @param store - the store
 * @param id - the stream
 * @param after - the last event id the client has (0 = from the start)
 * @param first - whether this is the run's first response (the response itself: checked while its head is not sent)
 * @param format - the response's codec
 * @param until - told each event before it is encoded; true ends the source after it
 * @returns the source and the codec to send it with
 */
export function logFollower<F extends Format<StoredEvent>>(
  store: StreamStore,
  id: string,
  after: number,
  first: FirstResponse,
  format: F,
  until?: (stored: StoredEvent) => boolean,
): { source: (signal: AbortSignal) => AsyncIterable<StoredEvent>; format: Format<StoredEvent> } {
  if (until === undefined) return { source: logEvents(store, id, after, first), format };
  const end: LogEnd = { last: false };
  // The codec's own object stays its prototype (every other field and method, `this` included);
  // only `encode` is wrapped.
  const checked = Object.create(format, {
    encode: {
      value: (item: StoredEvent): string | Uint8Array => {
        if (until(item)) end.last = true;
        return format.encode(item);
      },
    },
  }) as Format<StoredEvent>;
  return { source: (signal) => readLog(store, id, after, first, signal, end), format: checked };
}

/** Options of {@link followStream}. */
export interface FollowStreamOptions {
  store: StreamStore;
  /** The stream to follow. */
  id: string;
  /** Replay the events after this id (0 = from the start), then follow live. @defaultValue 0 */
  after?: number;
  /** A fresh codec for this response. It gets the log's events with their ids (codecs never number events). */
  format: AgentFormat;
  headers?: Record<string, string>;
  heartbeatMs?: number | undefined;
  /** Ends a follower whose client stopped reading for this long (`sendStream`'s `sendTimeoutMs`). */
  sendTimeoutMs?: number | undefined;
  followers: FollowerSet;
  /** The first response of a new run (see {@link logEvents}). */
  first?: boolean;
  /** Counts this follower from now and returns its leave. @defaultValue `store.attach(id)` */
  attach?: () => () => void;
  /** Told when this follower leaves. */
  onLeave?: (id: string) => void;
  /** Told what the response did once it is over. */
  onResponse?: (result: StreamResult) => void;
}

/**
 * Streams a stored stream onto a response: replay after `after`, then live, until its terminal
 * event. The follower counts (the detach grace) from this call until the response is over.
 * @param res - the response; its head must not have been sent
 * @param options - the stream, where to start and the codec
 * @returns what happened, once the response is over
 */
export function followStream(res: ServerResponse, options: FollowStreamOptions): Promise<StreamResult> {
  const { store, id, onLeave } = options;
  const attach = options.attach ?? (() => store.attach(id));
  const respondOptions: RespondOptions<StoredEvent> = {
    format: options.format,
    followers: options.followers,
    attach: () => {
      const leave = attach();
      return () => {
        leave();
        onLeave?.(id);
      };
    },
    onResponse: options.onResponse,
    heartbeatMs: options.heartbeatMs,
    sendTimeoutMs: options.sendTimeoutMs,
  };
  if (options.headers !== undefined) respondOptions.headers = options.headers;
  return respond(res, logEvents(store, id, options.after ?? 0, options.first === true ? res : false), respondOptions);
}
