/**
 * The SSE client: events from any `fetch` request, with reconnection that resumes instead of
 * repeating the request. Runs wherever `fetch`, Web Streams and `TextDecoder` do.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
 * @module
 */
import { isAbortError } from '../core/errors.ts';
import { sleep } from '../core/sleep.ts';
import { SseConnectionError, SseContentTypeError, SseHttpError, type SseParseError } from './errors.ts';
import { createParser } from './parse.ts';
import type { SseEvent } from './types.ts';

/** The header a sluice server names its stream with, and the path that resumes it. */
export const STREAM_ID_HEADER = 'x-stream-id';
const RESUME_PATH = '/v1/streams/';
const EVENT_STREAM = 'text/event-stream';
/** Statuses after which a `Retry-After` header is honoured. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);
/** Up to this fraction of each reconnection delay is added at random, so clients spread out. */
const JITTER = 0.25;
/**
 * The longest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days): a longer one fires at once
 * (Node warns `TimeoutOverflowWarning` and uses 1 ms; browsers do the same silently).
 * @see https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers
 */
const MAX_TIMER_DELAY = 2 ** 31 - 1;
/** The default {@link FetchEventStreamOptions.maxBufferSize}: 16 MiB of characters. */
const DEFAULT_MAX_BUFFER_SIZE = 16 * 1024 * 1024;

/** What {@link FetchEventStreamOptions.onReconnect} is told before each wait. */
export interface ReconnectInfo {
  /** 1 for the first reconnection after a success, then 2, 3, … */
  attempt: number;
  /** How long the client waits before the next request, in milliseconds. */
  delay: number;
  /** Why: the dropped connection's error, or the `SseHttpError` of a 429/503 answer. */
  error: unknown;
  /** The URL the next request goes to. */
  url: string;
}

/** Options of {@link fetchEventStream}. */
export interface FetchEventStreamOptions {
  /** The first request's method. Reconnections are always `GET`. @defaultValue `'GET'` */
  method?: string;
  /** Request headers, sent on every request (`Accept: text/event-stream` is added when missing). */
  headers?: HeadersInit;
  /** The first request's body. It is never sent again on a reconnection. */
  body?: BodyInit | null;
  /** Stops the stream: the request is aborted and iteration rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** The `fetch` to use, for tests and custom runtimes. @defaultValue `globalThis.fetch` */
  fetch?: typeof globalThis.fetch;
  /** The last event ID to resume after: sent as `Last-Event-ID` on the first request too. @defaultValue `''` */
  lastEventId?: string;
  /** Whether to reconnect after a dropped connection or a failed request (429/503 with `Retry-After` are retried either way). @defaultValue `true` */
  reconnect?: boolean;
  /** The reconnection time until the server sets one with `retry:`, in milliseconds. @defaultValue `1000` */
  retryDelay?: number;
  /**
   * The longest wait between two attempts, however many failed; it also caps a server's
   * `Retry-After` (a `Retry-After: 86400` waits this long, not a day). Any wait is at most
   * 2^31 − 1 ms, the longest `setTimeout` honours, even with `Infinity` here.
   * @defaultValue `30000`
   */
  maxRetryDelay?: number;
  /**
   * How many attempts in a row may fail before giving up. An attempt succeeds, and the count
   * starts over, once its response was accepted (a 2xx `text/event-stream`) and its body delivered
   * at least one byte: a stream that only sends `: ping` comments and is cut by a proxy every
   * minute reconnects for ever, while a server that accepts and drops at once, or answers 429/503,
   * counts as failing.
   * @defaultValue `10`
   */
  maxRetries?: number;
  /**
   * The most characters the parser holds for one line, or for one event's data, before the stream
   * ends with an {@link SseParseError} of type `'max-buffer-size-exceeded'` (events before it are
   * yielded first). It does not reconnect: resuming would only fetch the same oversized event again.
   * Raise it for servers that send larger events; `Infinity` turns the limit off.
   * @defaultValue `16777216` (16 MiB)
   */
  maxBufferSize?: number;
  /**
   * Where to resume after a dropped connection, read from each response. A request that is not a
   * `GET` (one that started a generation) is never repeated: without a resume URL it is not resumed.
   * `false` turns resuming off, so only `GET` requests reconnect, to their own URL.
   * @defaultValue {@link defaultResumeUrl}: `/v1/streams/<x-stream-id>` on the response's origin
   */
  resumeUrl?: ((response: Response, url: string) => string | URL | undefined) | false;
  /** Called once per successful response (the first and each reconnection). */
  onOpen?: (response: Response) => void;
  /** Called before each wait to reconnect or retry. */
  onReconnect?: (info: ReconnectInfo) => void;
  /** Called for each comment line, such as the `: ping` heartbeat. */
  onComment?: (comment: string) => void;
}

/**
 * The default {@link FetchEventStreamOptions.resumeUrl}: a sluice server names each stream in the
 * `x-stream-id` response header and resumes it at `GET /v1/streams/<id>` (with `Last-Event-ID`).
 * @param response - a successful event-stream response
 * @param url - the URL it was requested from, used when `response.url` is empty
 * @returns the resume URL, or `undefined` when the response has no `x-stream-id`
 */
export function defaultResumeUrl(response: Response, url: string): string | undefined {
  const id = response.headers.get(STREAM_ID_HEADER);
  if (id === null || id === '') return undefined;
  return new URL(RESUME_PATH + encodeURIComponent(id), response.url === '' ? url : response.url).href;
}

/**
 * Opens an event stream with `fetch` and yields its events. After a dropped connection it
 * reconnects with `Last-Event-ID`, honouring `retry:`, with exponential backoff and jitter, up to
 * `maxRetries` times in a row; a `POST` (or any non-`GET`) is resumed at its resume URL, never sent
 * again. It ends when the server closes the stream normally and throws {@link SseHttpError} on an
 * HTTP error status (waiting and retrying on 429 or 503 with `Retry-After`),
 * {@link SseContentTypeError} on a non-SSE answer, {@link SseConnectionError} when a dropped
 * connection cannot be resumed, and {@link SseParseError} (`'max-buffer-size-exceeded'`) on a line or
 * event over `maxBufferSize`. Breaking out of the loop aborts the request.
 * @param url - the event-stream URL
 * @param options - request, reconnection and cancellation options
 * @returns an async iterator of events, to be consumed once
 * @throws TypeError or RangeError at the call for invalid options
 * @example
 * ```ts
 * for await (const event of fetchEventStream('http://localhost:3000/v1/chat', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
 * })) {
 *   console.log(event.event, event.data);
 * }
 * ```
 */
export function fetchEventStream(url: string | URL, options: FetchEventStreamOptions = {}): AsyncGenerator<SseEvent, void, undefined> {
  const href = new URL(url, (globalThis as { location?: { href: string } }).location?.href).href;
  for (const name of ['retryDelay', 'maxRetryDelay', 'maxRetries', 'maxBufferSize'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value) || value < 0)) {
      throw new RangeError(`Expected \`${name}\` to be a non-negative number, got ${String(value)} (${typeof value}).`);
    }
  }
  if (options.maxBufferSize === 0) throw new RangeError('Expected `maxBufferSize` to be a positive number of characters, got 0.');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('Expected `fetch` to be a function: pass one in the options on runtimes without a global fetch.');
  return readEventStream(href, options, fetchImpl);
}

interface Attempt {
  url: string;
  method: string;
  headers: Headers;
  body: BodyInit | null | undefined;
}

async function* readEventStream(
  url: string,
  options: FetchEventStreamOptions,
  fetchImpl: typeof globalThis.fetch,
): AsyncGenerator<SseEvent, void, undefined> {
  const method = (options.method ?? 'GET').toUpperCase();
  const maxRetries = options.maxRetries ?? 10;
  const maxRetryDelay = options.maxRetryDelay ?? 30_000;
  const getResumeUrl = options.resumeUrl === undefined ? defaultResumeUrl : options.resumeUrl;
  const userSignal = options.signal;
  // Our own controller stops the request when the consumer stops iterating.
  const stop = new AbortController();
  const signal = userSignal === undefined ? stop.signal : AbortSignal.any([userSignal, stop.signal]);
  let reconnectionTime = options.retryDelay ?? 1000;
  const events: SseEvent[] = [];
  // Set when the server sent a line or an event over `maxBufferSize`: the stream ends with it.
  let overflow: SseParseError | undefined;
  const parser = createParser({
    lastEventId: options.lastEventId,
    maxBufferSize: options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
    onEvent: (event) => events.push(event),
    onRetry: (retry) => (reconnectionTime = retry),
    onComment: options.onComment,
    // Lines the spec says to ignore (unknown fields, a bad `retry:`) are ignored, as EventSource does.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = error;
    },
  });
  let resumeUrl: string | undefined;
  let failures = 0;
  let first = true;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  const rethrowIfAborted = (error: unknown): void => {
    if (userSignal?.aborted) throw userSignal.reason;
    if (signal.aborted || isAbortError(error)) throw error;
  };

  /** The next request: the caller's first, then a `GET` that resumes. Undefined when nothing may be sent. */
  const nextAttempt = (): Attempt | undefined => {
    const headers = new Headers(options.headers);
    if (!headers.has('accept')) headers.set('accept', EVENT_STREAM);
    if (parser.lastEventId !== '') headers.set('last-event-id', parser.lastEventId);
    if (first) return { url, method, headers, body: options.body };
    headers.delete('content-type');
    headers.delete('content-length');
    if (resumeUrl !== undefined) return { url: resumeUrl, method: 'GET', headers, body: undefined };
    // Deliberate: a request that is not a GET may have started work (a generation) and is never repeated.
    return method === 'GET' ? { url, method, headers, body: undefined } : undefined;
  };

  /**
   * Waits before the next attempt, or throws `error` when no attempt is left.
   * @param retryAfter - the server's `Retry-After`, in milliseconds, used instead of the backoff
   */
  const backoff = async (error: unknown, retryAfter: number | undefined, target: string): Promise<void> => {
    failures++;
    if (failures > maxRetries) throw error;
    let wait: number;
    if (retryAfter === undefined) {
      const base = reconnectionTime * 2 ** (failures - 1);
      wait = base + base * JITTER * Math.random();
    } else {
      wait = retryAfter;
    }
    wait = Math.min(maxRetryDelay, wait, MAX_TIMER_DELAY);
    options.onReconnect?.({ attempt: failures, delay: wait, error, url: target });
    await sleep(wait, signal);
  };

  try {
    for (;;) {
      const attempt = nextAttempt();
      if (attempt === undefined) throw new Error('unreachable: checked before reconnecting');
      const init: RequestInit & { duplex?: 'half' } = { method: attempt.method, headers: attempt.headers, signal };
      if (attempt.body !== undefined && attempt.body !== null) {
        init.body = attempt.body;
        if (attempt.body instanceof ReadableStream) init.duplex = 'half';
      }
      const request = { method: attempt.method, url: attempt.url };

      let response: Response;
      try {
        response = await fetchImpl(attempt.url, init);
      } catch (error) {
        rethrowIfAborted(error);
        const failure = new SseConnectionError(`the request failed (${describe(error)}).`, { ...request, cause: error });
        // A failed first request that is not a GET may still have reached the server: not repeated.
        if (options.reconnect === false || (first && method !== 'GET')) throw failure;
        await backoff(failure, undefined, attempt.url);
        continue;
      }

      if (response.status === 204) {
        // The server has nothing to stream: a deliberate end, as EventSource stops on 204.
        await response.body?.cancel();
        return;
      }
      if (!response.ok) {
        await response.body?.cancel();
        const error = new SseHttpError(response.status, response.statusText, request);
        const retryAfter = RETRY_AFTER_STATUSES.has(response.status) ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
        // A stream body cannot be sent twice.
        if (retryAfter === undefined || (first && attempt.body instanceof ReadableStream)) throw error;
        await backoff(error, retryAfter, attempt.url);
        continue;
      }
      const contentType = response.headers.get('content-type') ?? '';
      if (contentType.split(';')[0]?.trim().toLowerCase() !== EVENT_STREAM) {
        await response.body?.cancel();
        throw new SseContentTypeError(response.status, contentType, request);
      }

      if (getResumeUrl !== false) {
        const next = getResumeUrl(response, attempt.url);
        if (next !== undefined) resumeUrl = new URL(next, attempt.url).href;
      }
      first = false;
      options.onOpen?.(response);
      if (response.body === null) return;

      reader = response.body.getReader();
      let dropped: unknown;
      for (;;) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          rethrowIfAborted(error);
          dropped = error;
          break;
        }
        if (read.done) {
          // The server closed the stream normally: an unfinished event is discarded and we stop.
          parser.end();
          return;
        }
        // Bytes on an accepted event stream make this attempt a success (see `maxRetries`): a
        // stream of heartbeats alone, cut by a proxy now and then, is not a failing server.
        if (read.value.length > 0) failures = 0;
        parser.feed(read.value);
        for (let index = 0; index < events.length; index++) yield events[index] as SseEvent;
        events.length = 0;
        // Deliberate: no reconnection, which would only fetch the same oversized event again.
        if (overflow !== undefined) throw overflow;
      }
      reader = undefined;
      parser.reset();
      events.length = 0;

      const failure = new SseConnectionError(`the connection dropped (${describe(dropped)}).`, { ...request, cause: dropped });
      if (options.reconnect === false) throw failure;
      const next = nextAttempt();
      if (next === undefined) {
        throw new SseConnectionError(
          `the connection dropped (${describe(dropped)}) and a ${method} request is never sent twice; the server gave no resume URL (an \`${STREAM_ID_HEADER}\` header, or pass \`resumeUrl\`).`,
          { ...request, cause: dropped },
        );
      }
      await backoff(failure, undefined, next.url);
    }
  } finally {
    stop.abort();
    // The request is already aborted; a failing cancel has nothing more to release.
    await reader?.cancel().catch(() => undefined);
  }
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return error.message + cause;
  }
  return String(error);
}
