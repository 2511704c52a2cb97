/**
 * Listening on more than one socket of the same port, so a busy server still accepts new
 * connections quickly (opt-in: `listenSockets`, `SLUICE_LISTEN_SOCKETS`).
 *
 * libuv accepts one connection per listening socket per turn of the event loop (libuv/libuv#3696).
 * An idle server turns often, so that costs nothing; but while a thousand streams keep the loop
 * busy, a turn lasts tens of milliseconds, and new connections wait in the kernel's accept queue:
 * in the W5 bench at 1,000 chats, ~40 accepts a second against 500 arriving, and the last chats'
 * first token came seconds late (docs/benchmarks.md). With `SO_REUSEPORT` (Linux), several sockets
 * listen on one port, the kernel spreads new connections over them, and each turn accepts one per
 * socket. Every socket's connections are handed to the one HTTP server (its `'connection'` event,
 * which Node documents for injecting connections), so its timeouts, limits and shutdown see them all.
 *
 * Why it is not the default: `SO_REUSEPORT` lets any other process of the same user join the port
 * while the server listens (and take a share of its connections). A port in use is refused as
 * before — it is bound once without the option first, which fails while anything listens on it —
 * but not a process that joins later. Elsewhere than on Linux, in a `cluster` worker (whose
 * listening sockets the primary owns), or where a shared socket cannot be bound (a Node without
 * `reusePort`), the server listens on one socket, as a plain `listen` does.
 *
 * @module
 */
import cluster from 'node:cluster';
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

/** The environment variable of `listenSockets`. */
const LISTEN_SOCKETS_ENV = 'SLUICE_LISTEN_SOCKETS';

/** The most listening sockets `listenSockets` takes. */
const MAX_LISTEN_SOCKETS = 64;

/**
 * Checks a count of listening sockets.
 * @param value - the count
 * @param where - what set it, for the error
 * @returns the count
 * @throws RangeError unless it is a whole number from 1 to 64
 */
export function checkListenSockets(value: unknown, where = 'listenSockets'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_LISTEN_SOCKETS) return value;
  throw new RangeError(`Expected \`${where}\` to be a whole number from 1 to ${MAX_LISTEN_SOCKETS}, got ${JSON.stringify(String(value)).slice(0, 40)}.`);
}

/**
 * Reads `SLUICE_LISTEN_SOCKETS`.
 * @param env - the environment
 * @returns the count it sets, or undefined
 * @throws RangeError when it is not a whole number from 1 to 64
 */
export function listenSocketsFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env[LISTEN_SOCKETS_ENV]?.trim();
  if (!raw) return undefined;
  return checkListenSockets(/^[0-9]+$/.test(raw) ? Number(raw) : raw, LISTEN_SOCKETS_ENV);
}

/** What a plain `listen` does, as a promise: the first error rejects it. */
function listenOn(server: NetServer, options: { port: number; host: string; reusePort?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    try {
      server.listen(options, () => {
        server.off('error', reject);
        resolve();
      });
    } catch (error) {
      // A bad port or host throws at once: no error event will come.
      server.off('error', reject);
      reject(error as Error);
    }
  });
}

/**
 * Makes `server` listen on `port` and `host` with `sockets` listening sockets (see the module's
 * notes). `address()`, `close()`, `getConnections()`, `ref()` and `unref()` of the server cover
 * every socket: `close()` stops all of them listening, and its callback waits for the connections
 * of all of them. An `'error'` of another socket (a failed accept) is the server's `'error'`.
 * Node's own `server.maxConnections` (not sluice's `maxConnections`, which counts every
 * connection) and the server's `'close'` event see the first socket's connections only.
 * @param server - an HTTP server, not listening yet
 * @param port - the port (0: a free one, which the other sockets then share)
 * @param host - the address to listen on
 * @param sockets - how many listening sockets (1 to 64; 1 is a plain `listen`)
 * @returns how many sockets listen, once they all do
 * @throws the error of the first `listen` (`EADDRINUSE`, `EACCES`), as a plain `listen` would
 */
export async function listenShared(server: HttpServer, port: number, host: string, sockets = 1): Promise<number> {
  checkListenSockets(sockets);
  const listening = await listenOnSockets(server, port, host, sockets);
  if (sockets > 1) (server as Noted)[LISTEN_SOCKETS] = { asked: sockets, listening };
  return listening;
}

async function listenOnSockets(server: HttpServer, port: number, host: string, sockets: number): Promise<number> {
  if (sockets === 1 || process.platform !== 'linux' || cluster.isWorker) {
    await listenOn(server, { port, host });
    return 1;
  }
  if (port !== 0) {
    // Fails, as a plain listen would, while any socket listens on the port (a shared one included).
    const probe = createNetServer();
    await listenOn(probe, { port, host });
    await new Promise((resolve) => probe.close(resolve));
  }
  try {
    await listenOn(server, { port, host, reusePort: true });
  } catch (error) {
    // A platform without `SO_REUSEPORT` refuses the option (a Node without `reusePort` ignores
    // it: its other sockets fail to bind, below): listen as before.
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw error;
    await listenOn(server, { port, host });
    return 1;
  }
  // A TCP server listening: its address is the port and address it bound.
  const bound = server.address() as AddressInfo;
  const others = await listenOthers(server, bound.port, bound.address, sockets - 1);
  if (others.length === 0) {
    // One socket after all (no more could be bound): not one other processes may join, so it
    // listens again without the option, on the port it had. (Not waiting for the close: a
    // connection accepted meanwhile stays the server's; nobody listens to its events yet.)
    server.close();
    await listenOn(server, { port: bound.port, host });
    return 1;
  }
  share(server, others);
  return sockets;
}

/** Where {@link listenShared} notes on the server how many sockets were asked for and listen, when more than one was asked for. */
const LISTEN_SOCKETS: unique symbol = Symbol.for('sluice.listenSockets');

type Noted = HttpServer & { [LISTEN_SOCKETS]?: { asked: number; listening: number } };

/**
 * How many sockets a server was asked to listen on, and listens on.
 * @param server - a server
 * @returns both counts (1 and 1 unless {@link listenShared} was asked for more)
 */
export function listenSocketsOf(server: HttpServer): { asked: number; listening: number } {
  return (server as Noted)[LISTEN_SOCKETS] ?? { asked: 1, listening: 1 };
}

/** Binds `count` more sockets to the server's port; none when one cannot be bound. */
async function listenOthers(server: HttpServer, port: number, host: string, count: number): Promise<NetServer[]> {
  // The settings Node's HTTP server gives the sockets it accepts (a connection that may be half
  // open; responses sent without Nagle's delay). `keepAliveInitialDelay` is kept in seconds.
  const settings = server as unknown as { noDelay?: boolean; keepAlive?: boolean; keepAliveInitialDelay?: number; highWaterMark?: number };
  const hand = (socket: Socket): void => void server.emit('connection', socket);
  const others: NetServer[] = [];
  for (let i = 0; i < count; i++) {
    const other = createNetServer(
      {
        allowHalfOpen: true,
        noDelay: settings.noDelay ?? true,
        keepAlive: settings.keepAlive ?? false,
        keepAliveInitialDelay: (settings.keepAliveInitialDelay ?? 0) * 1000,
        ...(settings.highWaterMark === undefined ? {} : { highWaterMark: settings.highWaterMark }),
      },
      hand,
    );
    try {
      await listenOn(other, { port, host, reusePort: true });
    } catch {
      // A Node that ignores `reusePort` bound the first socket without it, or no descriptor was
      // left: none of the others, and the caller listens on one socket. (Not waited for:
      // connections they handed over are the HTTP server's.)
      for (const bound of others) bound.close();
      return [];
    }
    // A failed accept (EMFILE, ENOBUFS) is the server's error, as on its own socket.
    other.on('error', (error) => server.emit('error', error));
    others.push(other);
  }
  return others;
}

/** Makes the server's `close`, `getConnections`, `ref` and `unref` cover the other sockets too. */
function share(server: HttpServer, others: NetServer[]): void {
  const { close, getConnections, ref, unref } = server;
  server.close = function closeAll(this: HttpServer, callback?: (error?: Error) => void) {
    let pending = others.length + 1;
    let first: Error | undefined;
    const closed = (error?: Error): void => {
      first ??= error;
      if (--pending === 0) callback?.(first);
    };
    for (const other of others) other.close(() => closed());
    return close.call(this, closed);
  } as HttpServer['close'];
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
  server.ref = function refAll(this: HttpServer) {
    for (const other of others) other.ref();
    return ref.call(this);
  } as HttpServer['ref'];
  server.unref = function unrefAll(this: HttpServer) {
    for (const other of others) other.unref();
    return unref.call(this);
  } as HttpServer['unref'];
}
