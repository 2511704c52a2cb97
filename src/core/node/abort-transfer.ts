/**
 * Ending a response whose transfer failed after its head, so the client can tell.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';

/**
 * Aborts a response mid-body so that no client mistakes it for a complete one. A chunked body
 * (HTTP/1.1) without its last chunk, or a body shorter than its `Content-Length`, is seen as
 * incomplete whatever the connection does, so the socket is simply destroyed. A body delimited
 * only by the end of the connection (an HTTP/1.0 client, which has no chunked framing) would
 * look complete after a normal close (FIN): that connection is reset (RST) instead, which every
 * client reports as an error (`ECONNRESET`).
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-6.3 (RFC 9112 §6.3: a close-delimited body ends at the close)
 * @param res - the response, its head sent
 */
export function abortTransfer(res: ServerResponse): void {
  const socket = res.socket;
  const closeDelimited = res.headersSent && !res.chunkedEncoding && !res.hasHeader('content-length');
  if (closeDelimited && socket !== null && !socket.destroyed && typeof socket.resetAndDestroy === 'function') {
    socket.resetAndDestroy();
    return;
  }
  // No error argument: ServerResponse would emit it.
  res.destroy();
}
