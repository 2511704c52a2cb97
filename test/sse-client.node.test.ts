import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { closeRecordingServers, startRecordingServer } from './helpers/http.ts';
import { SseConnectionError, SseContentTypeError, SseHttpError, SseParseError } from '../src/sse/errors.ts';
import { fetchEventStream, type ReconnectInfo } from '../src/sse/client.ts';
import type { SseEvent } from '../src/sse/types.ts';

const serve = startRecordingServer;

afterEach(closeRecordingServers);

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/** Writes `text`, then closes the connection without ending the chunked body: a dropped connection. */
function writeThenDrop(res: ServerResponse, text: string, onDropped?: () => void): void {
  res.write(text, () => {
    res.socket?.end();
    onDropped?.();
  });
}

async function collect(iterable: AsyncIterable<SseEvent>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

function events(from: number, to: number): string {
  let out = '';
  for (let id = from; id <= to; id++) out += `event: tick\nid: ${id}\ndata: {"n":${id}}\n\n`;
  return out;
}

const ticks = (from: number, to: number): SseEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ event: 'tick', id: String(from + i), data: `{"n":${from + i}}` }));

describe('fetchEventStream', () => {
  it('reconnects after a dropped connection with Last-Event-ID, after the retry: delay, and yields every event once', async () => {
    let droppedAt = 0;
    const { url, seen } = await serve((_req, res, index) => {
      res.writeHead(200, SSE_HEADERS);
      if (index === 0) writeThenDrop(res, 'retry: 150\n' + events(1, 3) + 'event: tick\nid: 4\ndata: {"n', () => (droppedAt = performance.now()));
      else res.end(events(4, 6));
    });
    const reconnects: ReconnectInfo[] = [];
    const received = await collect(fetchEventStream(url + '/events', { onReconnect: (info) => reconnects.push(info) }));
    expect(received).toEqual(ticks(1, 6));
    expect(seen.map((request) => [request.method, request.url, request.headers['last-event-id']])).toEqual([
      ['GET', '/events', undefined],
      ['GET', '/events', '3'],
    ]);
    expect(seen[0]?.headers.accept).toBe('text/event-stream');
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]?.delay).toBeGreaterThanOrEqual(150);
    // Timers may fire up to a millisecond early.
    expect((seen[1]?.at ?? 0) - droppedAt).toBeGreaterThanOrEqual(149);
  });

  it('resumes a POST at the server’s resume URL with GET, never sending the POST again', async () => {
    const { url, seen } = await serve((_req, res, index) => {
      if (index === 0) {
        res.writeHead(200, { ...SSE_HEADERS, 'x-stream-id': 'abc 1' });
        writeThenDrop(res, 'retry: 0\n' + events(1, 2));
      } else {
        res.writeHead(200, SSE_HEADERS);
        res.end(events(3, 4));
      }
    });
    const received = await collect(
      fetchEventStream(url + '/v1/chat', {
        method: 'post',
        headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        body: '{"messages":[]}',
      }),
    );
    expect(received).toEqual(ticks(1, 4));
    expect(seen.map((request) => [request.method, request.url, request.body, request.headers['last-event-id']])).toEqual([
      ['POST', '/v1/chat', '{"messages":[]}', undefined],
      ['GET', '/v1/streams/abc%201', '', '2'],
    ]);
    expect(seen[1]?.headers.authorization).toBe('Bearer t');
    expect(seen[1]?.headers['content-type']).toBeUndefined();
  });

  it('uses a custom resumeUrl and the given lastEventId', async () => {
    const { url, seen } = await serve((_req, res, index) => {
      res.writeHead(200, { ...SSE_HEADERS, 'x-run': 'r9' });
      if (index === 0) writeThenDrop(res, 'retry: 0\n' + events(8, 8));
      else res.end(events(9, 9));
    });
    const received = await collect(
      fetchEventStream(url + '/start', {
        method: 'POST',
        lastEventId: '7',
        resumeUrl: (response) => `/runs/${response.headers.get('x-run') ?? ''}`,
      }),
    );
    expect(received).toEqual(ticks(8, 9));
    expect(seen.map((request) => [request.method, request.url, request.headers['last-event-id']])).toEqual([
      ['POST', '/start', '7'],
      ['GET', '/runs/r9', '8'],
    ]);
  });

  it('does not resend a POST that dropped without a resume URL', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      writeThenDrop(res, 'retry: 0\n' + events(1, 1));
    });
    const error = await collect(fetchEventStream(url + '/v1/chat', { method: 'POST', body: '{}' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseConnectionError);
    expect((error as Error).message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat .*never sent twice/);
    expect(seen).toHaveLength(1);
  });

  it('does not reconnect after the server ends the stream cleanly', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      res.end(events(1, 2) + 'data: unterminated');
    });
    expect(await collect(fetchEventStream(url))).toEqual(ticks(1, 2));
    expect(seen).toHaveLength(1);
  });

  it.each([500, 404])('throws SseHttpError on %i without reconnecting', async (status) => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"x","message":"y"}}');
    });
    const error = await collect(fetchEventStream(url + '/events?a=1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseHttpError);
    expect(error).toMatchObject({ status, code: 'sse_http_error', method: 'GET' });
    expect((error as Error).message).toMatch(new RegExp(`status code ${status} .*: GET http://127\\.0\\.0\\.1:\\d+/events\\?a=1$`));
    expect(seen).toHaveLength(1);
  });

  it('waits for Retry-After on 429 and 503, then retries the same request', async () => {
    const { url, seen } = await serve((_req, res, index) => {
      if (index === 0) res.writeHead(429, { 'retry-after': '1' }).end();
      else if (index === 1) res.writeHead(503, { 'retry-after': '0' }).end();
      else res.writeHead(200, SSE_HEADERS).end(events(1, 1));
    });
    const received = await collect(fetchEventStream(url + '/v1/chat', { method: 'POST', body: 'hi' }));
    expect(received).toEqual(ticks(1, 1));
    expect(seen.map((request) => [request.method, request.body])).toEqual([
      ['POST', 'hi'],
      ['POST', 'hi'],
      ['POST', 'hi'],
    ]);
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(999);
  });

  it('throws SseHttpError on 429 without Retry-After', async () => {
    const { url, seen } = await serve((_req, res) => res.writeHead(429).end());
    await expect(collect(fetchEventStream(url))).rejects.toMatchObject({ name: 'SseHttpError', status: 429 });
    expect(seen).toHaveLength(1);
  });

  it('throws SseContentTypeError on a text/html answer without reconnecting', async () => {
    const { url, seen } = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>'));
    const error = await collect(fetchEventStream(url + '/page')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseContentTypeError);
    expect(error).toMatchObject({ status: 200, contentType: 'text/html', code: 'sse_content_type' });
    expect((error as Error).message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/page, got `text\/html`/);
    expect(seen).toHaveLength(1);
  });

  it('gives up after maxRetries reconnections in a row', async () => {
    const { url, seen } = await serve((_req, res) => {
      // Accepted, then dropped before a single byte of the body.
      res.writeHead(200, SSE_HEADERS);
      res.flushHeaders();
      res.socket?.end();
    });
    await expect(collect(fetchEventStream(url, { maxRetries: 2, retryDelay: 0 }))).rejects.toBeInstanceOf(SseConnectionError);
    expect(seen).toHaveLength(3);
  });

  it('starts the count of failures over after a connection that received bytes, even only `: ping` comments', async () => {
    // A proxy cuts a heartbeat-only stream again and again: more cuts than maxRetries, each after
    // bytes arrived, must not make the client give up.
    const { url, seen } = await serve((_req, res, index) => {
      res.writeHead(200, SSE_HEADERS);
      if (index < 5) writeThenDrop(res, 'retry: 0\n: ping\n\n');
      else res.end(events(1, 1));
    });
    const reconnects: ReconnectInfo[] = [];
    const received = await collect(fetchEventStream(url, { maxRetries: 2, onReconnect: (info) => reconnects.push(info) }));
    expect(received).toEqual(ticks(1, 1));
    expect(seen).toHaveLength(6);
    expect(reconnects.map((info) => info.attempt)).toEqual([1, 1, 1, 1, 1]);
  });

  it('caps Retry-After at maxRetryDelay', async () => {
    const { url, seen } = await serve((_req, res, index) => {
      if (index === 0) res.writeHead(503, { 'retry-after': '86400' }).end();
      else res.writeHead(200, SSE_HEADERS).end(events(1, 1));
    });
    const controller = new AbortController();
    const delays: number[] = [];
    const received = await collect(
      fetchEventStream(url, {
        maxRetryDelay: 20,
        signal: controller.signal,
        onReconnect: ({ delay }) => {
          delays.push(delay);
          // Fail now rather than sleep for a day.
          if (delay > 20) controller.abort(new Error(`waited ${delay} ms for Retry-After, more than maxRetryDelay`));
        },
      }),
    );
    expect(received).toEqual(ticks(1, 1));
    expect(delays).toEqual([20]);
    expect(seen).toHaveLength(2);
  });

  it('waits at most 2^31 − 1 ms, the longest delay setTimeout honours, even with an unbounded maxRetryDelay', async () => {
    // 3,000,000 s is longer than setTimeout can wait: unclamped, it would fire at once.
    const { url, seen } = await serve((_req, res) => res.writeHead(429, { 'retry-after': '3000000' }).end());
    const { url: retryUrl } = await serve((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      writeThenDrop(res, 'retry: 3000000000\n' + events(1, 1));
    });
    for (const target of [url, retryUrl]) {
      const controller = new AbortController();
      const delays: number[] = [];
      const stopped = new Error('stopped in onReconnect');
      await expect(
        collect(
          fetchEventStream(target, {
            maxRetryDelay: Infinity,
            signal: controller.signal,
            onReconnect: ({ delay }) => {
              delays.push(delay);
              controller.abort(stopped);
            },
          }),
        ),
      ).rejects.toBe(stopped);
      expect(delays, target).toEqual([2 ** 31 - 1]);
    }
    expect(seen).toHaveLength(1);
  });

  it('does not reconnect when reconnect is false', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      writeThenDrop(res, events(1, 1));
    });
    const received: SseEvent[] = [];
    await expect(
      (async () => {
        for await (const event of fetchEventStream(url, { reconnect: false })) received.push(event);
      })(),
    ).rejects.toMatchObject({ name: 'SseConnectionError', code: 'sse_connection_lost' });
    expect(received).toEqual(ticks(1, 1));
    expect(seen).toHaveLength(1);
  });

  it('rejects with the signal’s reason when aborted, and closes the request', async () => {
    let closed: Promise<unknown> = Promise.resolve();
    const { url } = await serve((req, res) => {
      closed = once(res, 'close');
      res.writeHead(200, SSE_HEADERS);
      res.write(events(1, 1));
      void req;
    });
    const controller = new AbortController();
    const reason = new Error('stop');
    await expect(
      (async () => {
        for await (const _event of fetchEventStream(url, { signal: controller.signal })) controller.abort(reason);
      })(),
    ).rejects.toBe(reason);
    await closed;
  });

  it('cancels the request when the consumer breaks out of the loop', async () => {
    let closed: Promise<unknown> = Promise.resolve();
    const { url } = await serve((_req, res) => {
      closed = once(res, 'close');
      res.writeHead(200, SSE_HEADERS);
      res.write(events(1, 1));
    });
    for await (const event of fetchEventStream(url)) {
      expect(event.id).toBe('1');
      break;
    }
    await closed;
  });

  it('retries a GET whose request failed, and not when reconnect is false', async () => {
    const { url } = await serve((_req, res) => res.writeHead(200, SSE_HEADERS).end(events(1, 1)));
    let calls = 0;
    const flaky: typeof fetch = (input, init) => (++calls === 1 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init));
    expect(await collect(fetchEventStream(url, { fetch: flaky, retryDelay: 0 }))).toEqual(ticks(1, 1));
    expect(calls).toBe(2);
    calls = 0;
    await expect(collect(fetchEventStream(url, { fetch: flaky, retryDelay: 0, reconnect: false }))).rejects.toMatchObject({
      name: 'SseConnectionError',
      cause: { message: 'fetch failed' },
    });
    expect(calls).toBe(1);
  });

  it('ends with a max-buffer-size-exceeded SseParseError on an event over maxBufferSize, after the events before it, without reconnecting', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, SSE_HEADERS);
      // The oversized event arrives in pieces and the connection stays open: the limit, not the
      // end of the body, ends the stream.
      res.write('retry: 0\n' + events(1, 2) + 'data: ');
      res.write('x'.repeat(600));
      res.write('x'.repeat(600) + '\n\n' + events(3, 3));
    });
    const received: SseEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream(url, { maxBufferSize: 1000 })) received.push(event);
    })().catch((e: unknown) => e);
    expect(received).toEqual(ticks(1, 2));
    expect(error).toBeInstanceOf(SseParseError);
    expect(error).toMatchObject({ type: 'max-buffer-size-exceeded', maxBufferSize: 1000 });
    expect(seen).toHaveLength(1);
  });

  it('checks its options at the call', () => {
    expect(() => fetchEventStream('http://127.0.0.1:1/', { maxRetries: -1 })).toThrow(RangeError);
    expect(() => fetchEventStream('http://127.0.0.1:1/', { maxBufferSize: Number.NaN })).toThrow(RangeError);
    expect(() => fetchEventStream('http://127.0.0.1:1/', { maxBufferSize: 0 })).toThrow(RangeError);
    expect(() => fetchEventStream('http://127.0.0.1:1/', { fetch: 1 as never })).toThrow(TypeError);
  });
});
