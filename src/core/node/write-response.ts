/**
 * Serves a Web `Response` on a Node `http.ServerResponse`, with backpressure and cancellation:
 * how Web-path handlers (Hono, route handlers built on `streamingResponse`) run on Node's `http`.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { errorResponseHeaders, SAFE_ERROR_MESSAGE } from '../errors.ts';
import { FLUSH_HEAD } from '../streaming-response.ts';
import { abortTransfer } from './abort-transfer.ts';

const disconnected = (): DOMException => new DOMException('The client disconnected.', 'AbortError');

/**
 * Writes `response`'s status, headers and body to `res`. The body is read only while `res` has
 * room; when the client goes away (also before this is called) the body is cancelled, which
 * reaches the stream's source. A body that fails before its first chunk is answered with a 500
 * and a JSON error instead of the response's own head; one that fails later aborts the transfer.
 * @param res - the Node response; its head must not have been sent
 * @param response - the Web response
 * @returns resolves when the body is fully written or cancelled
 * @example
 * ```ts
 * http.createServer(async (req, res) => {
 *   await writeResponse(res, await streamingResponse(numbers()));
 * });
 * ```
 */
export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  if (res.destroyed) {
    // The client left while the response was being made: release the body and its source.
    await response.body?.cancel(disconnected()).catch(() => undefined);
    return;
  }
  const reader = response.body?.getReader();
  let finished = false;
  let waitingFor: (() => void) | undefined;
  const onDrain = (): void => waitingFor?.();
  const onClose = (): void => {
    if (!res.writableFinished) {
      // The client is gone: cancel the body so the source's signal aborts. A cancel() rejection
      // only repeats an error the body already had, which read() below reports.
      reader?.cancel(disconnected()).catch(() => undefined);
    }
    waitingFor?.();
  };
  res.on('drain', onDrain);
  res.on('close', onClose);
  // A body that fails while we wait for 'drain' (its send timeout ran out, its source was stopped
  // from outside) ends the transfer at once instead of waiting for a drain that may never come.
  // Otherwise the failing read() below ends it, after what was written before it has gone out.
  reader?.closed.then(undefined, () => {
    if (waitingFor !== undefined && res.headersSent && !res.destroyed) abortTransfer(res);
    waitingFor?.();
  });
  try {
    let first: ReadableStreamReadResult<Uint8Array> | undefined;
    if ((response as Response & { [FLUSH_HEAD]?: true })[FLUSH_HEAD] === true) {
      // streamingResponse sent its head with no byte to carry it (the hold ran out, no
      // heartbeat): put it on the wire now, not with the first item, which may be far off.
      writeHead(res, response);
      res.flushHeaders();
    }
    if (reader !== undefined) {
      try {
        first = await reader.read();
      } catch {
        // Nothing was sent yet, so the failure can still be a real status; after a flushed head,
        // an aborted transfer.
        if (res.headersSent) {
          abortTransfer(res);
        } else if (!res.destroyed) {
          const body = JSON.stringify({ error: { code: 'internal_error', message: SAFE_ERROR_MESSAGE } });
          res.writeHead(500, errorResponseHeaders(plainHeaders(response)));
          res.end(body);
        }
        finished = true;
        return;
      }
    }
    if (res.destroyed) return;
    if (!res.headersSent) writeHead(res, response);
    if (reader === undefined || first === undefined || first.done) {
      finished = true;
      res.end();
      return;
    }
    let chunk: Uint8Array = first.value;
    for (;;) {
      if (res.destroyed) return;
      if (!res.write(chunk) && !res.destroyed) {
        await new Promise<void>((resolve) => (waitingFor = resolve));
        waitingFor = undefined;
      }
      const next = await reader.read();
      if (next.done) break;
      chunk = next.value;
    }
    finished = true;
    if (!res.destroyed) res.end();
  } catch {
    // The body errored after the head was sent (e.g. a plain-text stream that failed midway):
    // destroy the socket so the client sees an incomplete transfer, not a truncated success. Not
    // before the next turn of the event loop: Node holds the writes of this tick (the socket is
    // corked until the next tick), and destroying it now would drop the last chunk — often the
    // body's own error message, written just before it failed.
    finished = true;
    await new Promise(setImmediate);
    if (!res.destroyed) abortTransfer(res);
  } finally {
    res.off('drain', onDrain);
    res.off('close', onClose);
    // Any early return (client gone) leaves the body unread: release it and its source.
    if (!finished) reader?.cancel(disconnected()).catch(() => undefined);
  }
}

function writeHead(res: ServerResponse, response: Response): void {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  // An empty statusText would send a status line with no reason phrase; let Node pick the standard one.
  if (response.statusText === '') res.writeHead(response.status, headers);
  else res.writeHead(response.status, response.statusText, headers);
}

/** The response's headers but `set-cookie` (which a plain object cannot hold twice), for an error answer. */
function plainHeaders(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  return headers;
}
