/**
 * Followers: every HTTP response of a stream, the first as well as a resumed one, reads the
 * store's log from an event id and encodes it with a fresh codec.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { SluiceError } from '../../core/errors.ts';
import { sendStream } from '../../core/node/send-stream.ts';
import type { StreamResult } from '../../core/types.ts';
import type { AgentFormat } from '../../protocol/agent-format.ts';
import type { StoredEvent, StreamStore } from '../../store/types.ts';

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

/** Options of {@link followStream}. */
export interface FollowStreamOptions {
  store: StreamStore;
  /** The stream to follow. */
  id: string;
  /** Replay the events after this id (0 = from the start). @defaultValue 0 */
  after?: number;
  /** A fresh codec for this response. It gets the log's events with their ids (codecs never number events). */
  format: AgentFormat;
  headers?: Record<string, string>;
  heartbeatMs?: number | undefined;
  /** Ends a follower whose client stopped reading for this long (`sendStream`'s `sendTimeoutMs`). */
  sendTimeoutMs?: number | undefined;
  followers: FollowerSet;
  /**
   * The first response of a new run: when its first event is an `error`, it is answered as an
   * HTTP error status with a JSON body (the error happened before any byte was sent).
   */
  first?: boolean;
  /** Told when this follower leaves (the detach grace). */
  onLeave?: (id: string) => void;
}

/**
 * Streams a stored stream onto a response: replay after `after`, then live, until its terminal
 * event. The follower is attached in the store (for the detach grace) while it is open.
 * @param res - the response; its head must not have been sent
 * @param options - the stream, where to start and the codec
 * @returns what happened, once the response is over
 */
export function followStream(res: ServerResponse, options: FollowStreamOptions): Promise<StreamResult> {
  const { store, id, followers } = options;
  const after = options.after ?? 0;
  const detach = store.attach(id);
  followers.add(res);
  // A plain iterator over the store's, not an async generator: one promise hop less per event
  // on the path every response takes.
  const events = (signal: AbortSignal): AsyncIterable<StoredEvent> => {
    const log = store.read(id, { after, signal });
    if (options.first !== true) return log;
    const stored = log[Symbol.asyncIterator]();
    // The first response of a run: an `error` as its first event becomes an HTTP error status.
    let first = true;
    const check = (result: IteratorResult<StoredEvent>): IteratorResult<StoredEvent> => {
      if (result.done === true || !first) return result;
      first = false;
      const { event } = result.value;
      if (event.type === 'error') {
        throw new SluiceError(event.code, event.message, { status: event.status !== undefined && event.status >= 400 ? event.status : 502 });
      }
      return result;
    };
    const iterator: AsyncIterator<StoredEvent> & AsyncIterable<StoredEvent> = {
      next: () => stored.next().then(check),
      return: async () => {
        await stored.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  };
  const streamOptions: Parameters<typeof sendStream<StoredEvent>>[2] = { format: options.format, headers: options.headers ?? {} };
  if (options.heartbeatMs !== undefined) streamOptions.heartbeatMs = options.heartbeatMs;
  if (options.sendTimeoutMs !== undefined) streamOptions.sendTimeoutMs = options.sendTimeoutMs;
  return sendStream(res, events, streamOptions).finally(() => {
    detach();
    followers.delete(res);
    options.onLeave?.(id);
  });
}
