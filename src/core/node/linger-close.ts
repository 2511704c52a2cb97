/**
 * A lingering close for a connection whose request body is refused mid-upload (a 413): the
 * response must reach a client that is still sending.
 *
 * @module
 */
import type { Socket } from 'node:net';

/** Options of {@link lingerOnClose}. */
export interface LingerOptions {
  /** Bytes still read (and discarded) after the response before the connection is cut. @defaultValue 64 MiB */
  maxBytes?: number;
  /** Milliseconds the connection may linger after the response. @defaultValue 5000 */
  maxMs?: number;
}

/**
 * Makes the server's close of this connection graceful. Node closes a `Connection: close`
 * response's socket as soon as the response is written; a client still uploading then gets a
 * TCP reset, and a reset makes its kernel drop the response it has not read yet: the client sees
 * `ECONNRESET` or `EPIPE` instead of the 413. Here the server instead sends its FIN (the client
 * reads everything sent before it), goes on reading and discarding what the client still sends,
 * and closes once the client closes its side, or after `maxBytes` more bytes or `maxMs`
 * (bounded: a client that uploads forever is cut, as before).
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.6 (RFC 9112 §9.6, "Tear-down": close in stages)
 * @param socket - the request's socket, before its response ends
 * @param options - the bounds
 */
export function lingerOnClose(socket: Socket, options: LingerOptions = {}): void {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const maxMs = options.maxMs ?? 5000;
  // Node's http server calls destroySoon() after a `Connection: close` response is written
  // (`resOnFinish` in lib/_http_server.js): end, then destroy on 'finish'. Replaced for this socket
  // only: end now, destroy later.
  socket.destroySoon = function lingeringDestroySoon(this: Socket): void {
    if (this.destroyed) return;
    const startBytes = this.bytesRead;
    const cut = (): void => void this.destroy();
    const timer = setTimeout(cut, maxMs);
    timer.unref();
    const onData = (): void => {
      if (this.bytesRead - startBytes > maxBytes) cut();
    };
    this.on('data', onData);
    // The client closed its side: it has everything it will read.
    this.once('end', cut);
    this.once('close', () => {
      clearTimeout(timer);
      this.off('data', onData);
    });
    this.end();
    this.resume();
  };
}
