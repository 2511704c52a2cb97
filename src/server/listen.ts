/**
 * Listening on more than one socket of the same port, so a busy server still accepts new
 * connections quickly.
 *
 * libuv accepts one connection per listening socket per turn of the event loop (libuv/libuv#3696,
 * Node ≥ 20). An idle server turns often, so that costs nothing; but while a thousand streams keep
 * the loop busy, a turn lasts tens of milliseconds, and connections wait in the kernel's accept
 * queue: in the W5 bench at 1,000 chats, ~40 accepts a second against 500 arriving, and the last
 * chats' first token came seconds late (docs/benchmarks.md). With `SO_REUSEPORT` (Linux), several
 * sockets listen on one port, the kernel spreads new connections over them, and each turn accepts
 * one per socket. Every socket's connections are handed to the one HTTP server (`'connection'`,
 * which Node documents for injecting connections), so its timeouts, limits and shutdown see them all.
 *
 * `SO_REUSEPORT` also lets another process of the same user bind the port. So that a second
 * `sluice serve` on a port in use still fails with `EADDRINUSE` instead of quietly sharing it, the
 * port is first bound without the option (which fails while anything listens on it) and let go
 * just before the shared sockets bind it. Elsewhere than on Linux, or where a shared socket cannot
 * be bound (a Node without `reusePort`), the server listens on one socket, as a plain `listen` does.
 *
 * @module
 */
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

/** Listening sockets `serve()` opens by default: four where the platform shares a port (Linux), else one. */
export const DEFAULT_LISTEN_SOCKETS = process.platform === 'linux' ? 4 : 1;

/** What a plain `listen(port, host)` would do, as a promise: the first error rejects it. */
function listenOn(server: NetServer, options: { port: number; host: string; reusePort?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeQuietly(server: NetServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Makes `server` listen on `port` and `host` with `sockets` listening sockets (see the module's
 * notes). `server.address()`, `close()` and `getConnections()` work as with one: closing the
 * server closes the others too, and the connections of all of them are counted.
 * @param server - an HTTP server, not listening yet
 * @param port - the port (0: a free one, which the other sockets then share)
 * @param host - the address to listen on
 * @param sockets - how many listening sockets (≥ 1; 1 is a plain `listen`)
 * @returns how many sockets listen, once they all do
 * @throws the error of the first `listen` (`EADDRINUSE`, `EACCES`), as a plain `listen` would
 */
export async function listenShared(server: HttpServer, port: number, host: string, sockets: number = DEFAULT_LISTEN_SOCKETS): Promise<number> {
  if (!(Number.isInteger(sockets) && sockets >= 1 && sockets <= 64)) {
    throw new RangeError(`Expected \`listenSockets\` to be a whole number from 1 to 64, got ${String(sockets)}.`);
  }
  if (sockets === 1 || process.platform !== 'linux') {
    await listenOn(server, { port, host });
    return 1;
  }
  if (port !== 0) {
    // Fails, as a plain listen would, while any socket listens on the port (a shared one included).
    const probe = createNetServer();
    await listenOn(probe, { port, host });
    await closeQuietly(probe);
  }
  try {
    await listenOn(server, { port, host, reusePort: true });
  } catch (error) {
    // A platform or Node without `reusePort` refuses the option: listen as before.
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw error;
    await listenOn(server, { port, host });
    return 1;
  }
  const address = server.address();
  if (address === null || typeof address === 'string') return 1;
  // The settings Node's HTTP server gives the sockets it accepts (an HTTP connection is half-open
  // capable; responses go out without Nagle's delay).
  const settings = server as unknown as { noDelay?: boolean; keepAlive?: boolean; keepAliveInitialDelay?: number; highWaterMark?: number };
  const hand = (socket: Socket): void => void server.emit('connection', socket);
  const others: NetServer[] = [];
  for (let i = 1; i < sockets; i++) {
    const other = createNetServer(
      {
        allowHalfOpen: true,
        noDelay: settings.noDelay ?? true,
        keepAlive: settings.keepAlive ?? false,
        keepAliveInitialDelay: settings.keepAliveInitialDelay ?? 0,
        ...(settings.highWaterMark === undefined ? {} : { highWaterMark: settings.highWaterMark }),
      },
      hand,
    );
    try {
      await listenOn(other, { port: address.port, host: address.address, reusePort: true });
    } catch {
      // A Node that ignores `reusePort` listened without it: one socket, as before.
      await Promise.all(others.map(closeQuietly));
      return 1;
    }
    others.push(other);
  }
  // `close()` stops every socket from listening at once; its callback still waits for the
  // server's own connections, as with one socket (`closeAllConnections()` ends all of them: the
  // HTTP server tracks every connection handed to it).
  const close = server.close;
  server.close = function closeAll(this: HttpServer, callback?: (error?: Error) => void) {
    for (const other of others) other.close();
    return close.call(this, callback);
  } as HttpServer['close'];
  // `getConnections()` counts the connections every socket accepted.
  const getConnections = server.getConnections;
  server.getConnections = function countAll(this: HttpServer, callback: (error: Error | null, count: number) => void) {
    let total = 0;
    let pending = others.length + 1;
    let failed = false;
    const add = (error: Error | null, count: number): void => {
      if (failed) return;
      if (error !== null) {
        failed = true;
        callback(error, 0);
        return;
      }
      total += count;
      if (--pending === 0) callback(null, total);
    };
    getConnections.call(this, add);
    for (const other of others) other.getConnections(add);
    return this;
  } as HttpServer['getConnections'];
  return sockets;
}
