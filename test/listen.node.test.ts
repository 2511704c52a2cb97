// serve()'s listening sockets (src/server/listen.ts, opt-in): several sockets on one port where
// Linux shares it, each connection handed to the one HTTP server, a port in use still refused, and
// all of them closed with the server.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serve, startupLog } from '../src/server/app.ts';
import { listenShared, listenSocketsFromEnv } from '../src/server/listen.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createLocalProvider } from '../src/providers/local/local-language-model.ts';

const linux = process.platform === 'linux';
const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function track(server: Server): Server {
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return server;
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** The sockets of this process listening on `port` (Linux: /proc/net/tcp{,6} against our fds). */
function listeningSockets(port: number): number {
  const ours = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) ours.add(inode);
    } catch {
      // closed while listed
    }
  }
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const local = fields[1] as string;
      const state = fields[3];
      const inode = fields[9] as string;
      if (state === '0A' && Number.parseInt(local.split(':')[1] as string, 16) === port && ours.has(inode)) count++;
    }
  }
  return count;
}

async function startApp(port = 0, listenSockets?: number, env: Record<string, string> = {}): Promise<Server> {
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }) } });
  return track(await serve({ port, host: '127.0.0.1', env, models, onWarn: () => {}, ...(listenSockets === undefined ? {} : { listenSockets }) }));
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // A new connection per request: the kernel spreads them over the listening sockets.
    const req = request({ port, host: '127.0.0.1', path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Blocks the event loop (as a thousand streams' writes would) for `ms`. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/**
 * Opens `count` connections while the loop is blocked, then counts how many the server accepts in
 * one turn of the loop after.
 */
async function acceptedInOneTurn(server: Server, count: number): Promise<number> {
  let accepted = 0;
  server.on('connection', () => accepted++);
  const clients: Socket[] = [];
  cleanup.push(() => clients.forEach((client) => client.destroy()));
  for (let i = 0; i < count; i++) clients.push(connect(portOf(server), '127.0.0.1').on('error', () => undefined));
  // The connects go out on the next tick; the kernel completes them on loopback while we spin.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  busy(100);
  // From one check phase to the next: one poll phase, where libuv accepts.
  return new Promise((resolve) =>
    setImmediate(() => {
      const before = accepted;
      setImmediate(() => resolve(accepted - before));
    }),
  );
}

describe('listenSockets', () => {
  it('listens on the sockets asked for where the port can be shared (Linux), on one elsewhere', async () => {
    const server = track(createServer());
    expect(await listenShared(server, 0, '127.0.0.1', 4)).toBe(linux ? 4 : 1);
  });

  it('is one socket by default, a plain listen', async () => {
    const server = await startApp();
    if (linux) expect(listeningSockets(portOf(server))).toBe(1);
    expect(startupLog(server).join('\n')).not.toContain('listening sockets');
  });

  it('says in the startup log when it listens on fewer sockets than asked (a cluster worker)', async () => {
    // A worker's listening socket is the primary's: one, whatever was asked.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-listen-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const app = pathToFileURL(join(import.meta.dirname, '../src/server/app.ts')).href;
    const script = join(dir, 'worker.mjs');
    writeFileSync(
      script,
      `import cluster from 'node:cluster';
      if (cluster.isPrimary) {
        const worker = cluster.fork();
        worker.on('exit', (code) => process.exit(code));
      } else {
        const { serve, startupLog } = await import(${JSON.stringify(app)});
        const server = await serve({ port: 0, host: '127.0.0.1', env: { SLUICE_LISTEN_SOCKETS: '4' } });
        const log = startupLog(server).join('\\n');
        server.close();
        // Written before the exit (a pipe's writes are asynchronous off Linux).
        process.stdout.write(log + '\\n', () => process.exit(0));
      }`,
    );
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script], { timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${String(error)}\n${stderr}`)) : resolve(stdout))),
    );
    expect(output).toContain('sluice listening on http://localhost:');
    expect(output).toContain('1 listening socket, not the 4 asked for (SLUICE_LISTEN_SOCKETS): more need Linux, a Node with reusePort (22.12+ or 23.1+), no cluster worker and free file descriptors');
  });

  it('refuses a count out of range, from the option or SLUICE_LISTEN_SOCKETS', async () => {
    await expect(startApp(0, 0)).rejects.toThrow(/`listenSockets` to be a whole number from 1 to 64/);
    await expect(startApp(0, 65)).rejects.toThrow(RangeError);
    await expect(startApp(0, undefined, { SLUICE_LISTEN_SOCKETS: 'four' })).rejects.toThrow(/`SLUICE_LISTEN_SOCKETS` to be a whole number from 1 to 64, got "four"/);
    expect(listenSocketsFromEnv({ SLUICE_LISTEN_SOCKETS: ' 4 ' })).toBe(4);
    expect(listenSocketsFromEnv({ SLUICE_LISTEN_SOCKETS: '' })).toBeUndefined();
    expect(() => listenSocketsFromEnv({ SLUICE_LISTEN_SOCKETS: '2.5' })).toThrow(RangeError);
  });
});

describe.skipIf(!linux)('listenSockets on Linux: several listening sockets on one port', () => {
  it('listens on the sockets asked for and serves requests arriving on any of them', async () => {
    const server = await startApp(0, undefined, { SLUICE_LISTEN_SOCKETS: '4' });
    const port = portOf(server);
    expect(listeningSockets(port)).toBe(4);
    expect(startupLog(server).join('\n')).toContain('4 listening sockets on the port (SLUICE_LISTEN_SOCKETS; other processes of this user may join it)');
    let connections = 0;
    let viaOthers = 0;
    server.on('connection', (socket: Socket) => {
      connections++;
      // Node notes on each socket the server that accepted it.
      if ((socket as Socket & { _server?: unknown })._server !== server) viaOthers++;
    });
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(port, '/healthz')));
    expect(statuses).toEqual(Array.from({ length: 40 }, () => 200));
    // Every connection, whichever socket accepted it, reached the one HTTP server; the kernel
    // spread them (40 connections all on one of four sockets: a chance of 4 in 4^40).
    expect(connections).toBe(40);
    expect(viaOthers).toBeGreaterThan(0);
    const eight = await startApp(0, 8);
    expect(listeningSockets(portOf(eight))).toBe(8);
  });

  it('still refuses a port another sluice server listens on, shared or not (EADDRINUSE)', async () => {
    const shared = await startApp(0, 4);
    // Without the probe, a second shared bind of the same user would join the first one's port.
    await expect(startApp(portOf(shared), 4)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(startApp(portOf(shared), 1)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const plain = await startApp(0, 1);
    await expect(startApp(portOf(plain), 4)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // The refused servers left nothing listening behind.
    expect(listeningSockets(portOf(shared))).toBe(4);
    expect(listeningSockets(portOf(plain))).toBe(1);
  });

  it('counts, waits for and closes the connections of every socket', async () => {
    const server = await startApp(0, 4);
    const port = portOf(server);
    const open: Socket[] = [];
    cleanup.push(() => open.forEach((socket) => socket.destroy()));
    // Twelve open connections, spread by the kernel (all on one socket: a chance of 4 in 4^12).
    let accepted = 0;
    let viaOthers = 0;
    const onServer: Socket[] = [];
    server.on('connection', (socket: Socket) => {
      accepted++;
      if ((socket as Socket & { _server?: unknown })._server !== server) viaOthers++;
      else onServer.push(socket);
    });
    for (let i = 0; i < 12; i++) open.push(connect(port, '127.0.0.1').on('error', () => undefined));
    await vi.waitFor(() => expect(accepted).toBe(12), { timeout: 5000 });
    expect(viaOthers).toBeGreaterThan(0);
    const counted = await new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    expect(counted).toBe(12);
    let closed = false;
    const closing = new Promise<void>((resolve) =>
      server.close(() => {
        closed = true;
        resolve();
      }),
    );
    // Not listening any more, on any socket; the open connections hold the close, the other
    // sockets' too: with the first socket's own ones gone, it still waits.
    expect(listeningSockets(port)).toBe(0);
    for (const socket of onServer) socket.destroy();
    await vi.waitFor(() => expect(onServer.every((socket) => socket.destroyed)).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    server.closeAllConnections();
    await closing;
    expect(closed).toBe(true);
    // The port is free again for a plain server.
    const next = createNetServer();
    await new Promise<void>((resolve, reject) => next.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => next.close(() => resolve()));
  });

  it('unref() and ref() cover every socket', async () => {
    const server = await startApp(0, 4);
    const listening = (): number =>
      (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
    const before = listening();
    server.unref();
    expect(listening()).toBe(before - 4);
    server.ref();
    expect(listening()).toBe(before);
  });

  it('accepts more than one waiting connection per turn of a busy event loop (one per socket)', async () => {
    // libuv accepts one connection per listening socket per turn: with one socket, 40 waiting
    // connections take 40 turns; with four, a turn takes up to four.
    const single = track(createServer((_req, res) => res.end()));
    expect(await listenShared(single, 0, '127.0.0.1', 1)).toBe(1);
    expect(await acceptedInOneTurn(single, 40)).toBe(1);
    const shared = track(createServer((_req, res) => res.end()));
    expect(await listenShared(shared, 0, '127.0.0.1', 4)).toBe(4);
    expect(await acceptedInOneTurn(shared, 40)).toBeGreaterThanOrEqual(2);
  });
});
