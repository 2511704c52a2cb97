/**
 * A private `redis-server` for a test file: a free port on 127.0.0.1, no persistence, killed with
 * the test process. It can be killed and started again on the same port (outage tests).
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../scripts/chaos/ports.ts';
import { portClosed, redisServerAvailable, spawnRedisServer, waitForExit } from '../../scripts/redis-process.ts';

/** A running private Redis. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was saved). */
  restart(): Promise<void>;
  /** Stops it for good. */
  close(): Promise<void>;
}

export { redisServerAvailable } from '../../scripts/redis-process.ts';

/** What a test file says when Redis is missing: skip with this message, or fail on CI. */
export const REDIS_MISSING =
  'redis-server is not on PATH, so the Redis tests are skipped. Install Redis (e.g. `apt-get install redis-server` or `brew install redis`) to run them; on CI (CI=true) they fail instead.';

/**
 * Whether a test file can run its Redis tests: with `CI=true` a missing `redis-server` throws
 * (the file fails); elsewhere it says why the tests are skipped and how to enable them.
 * @returns true when `redis-server` is on PATH
 */
export function requireRedisServer(): boolean {
  if (redisServerAvailable()) return true;
  if (process.env.CI === 'true') throw new Error(REDIS_MISSING);
  console.warn(REDIS_MISSING);
  return false;
}

export { freePort } from '../../scripts/chaos/ports.ts';

/**
 * Starts `redis-server` on `port` (no persistence) and resolves once it accepts connections.
 * @param extra - more arguments (a cluster node's), @param cwd - its working directory
 */
export function spawnServer(port: number, extra: readonly string[] = [], cwd?: string): Promise<ChildProcess> {
  return spawnRedisServer(port, ['--appendonly', 'no', ...extra], cwd);
}

/** Starts a private redis-server on a free port. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined = await spawnServer(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      if (child === undefined) return;
      const dying = child;
      child = undefined;
      dying.kill('SIGKILL');
      await waitForExit(dying);
      await portClosed(port);
    },
    async restart() {
      if (child !== undefined) throw new Error('redis-server is running; kill() it first');
      child = await spawnServer(port);
    },
    async close() {
      if (child === undefined) return;
      const dying = child;
      child = undefined;
      dying.kill('SIGKILL');
      await waitForExit(dying);
    },
  };
}

/**
 * Sends one command on a fresh connection and returns its reply as text (bulk string, simple
 * string or integer; enough for `CLIENT LIST`, `DBSIZE` or `PING`). The connection counts in `CLIENT LIST`.
 */
export function redisCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n');
      if (end === -1) return;
      const head = buffer.subarray(0, end).toString();
      if (head.startsWith('$')) {
        const length = Number(head.slice(1));
        if (buffer.length < end + 2 + length) return;
        socket.destroy();
        resolve(buffer.subarray(end + 2, end + 2 + length).toString());
      } else if (head.startsWith('-')) {
        socket.destroy();
        reject(new Error(head.slice(1)));
      } else {
        socket.destroy();
        resolve(head.slice(1));
      }
    });
    socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
  });
}
