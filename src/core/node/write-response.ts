/**
 * Serves a Web `Response` on a Node `http.ServerResponse`, with backpressure and cancellation:
 * how Web-path handlers (Hono, route handlers built on `streamingResponse`) run on Node's `http`.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';

/**
 * Writes `response`'s status, headers and body to `res`. The body is read only while `res` has
 * room; when the client goes away the body is cancelled, which reaches the stream's source.
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
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie') return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  let waitingFor: (() => void) | undefined;
  const onDrain = (): void => waitingFor?.();
  const onClose = (): void => {
    if (!res.writableFinished) {
      // The client is gone: cancel the body so the source's signal aborts. A cancel() rejection
      // only repeats an error the body already had, which read() below reports.
      reader.cancel(new DOMException('The client disconnected.', 'AbortError')).catch(() => undefined);
    }
    waitingFor?.();
  };
  res.on('drain', onDrain);
  res.on('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value) && !res.destroyed) {
        await new Promise<void>((resolve) => (waitingFor = resolve));
        waitingFor = undefined;
      }
    }
    if (!res.destroyed) res.end();
  } catch {
    // The body errored after the head was sent (e.g. a plain-text stream that failed midway):
    // destroy the socket so the client sees an incomplete transfer, not a truncated success.
    res.destroy();
  } finally {
    res.off('drain', onDrain);
    res.off('close', onClose);
  }
}
