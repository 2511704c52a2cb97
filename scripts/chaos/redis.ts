/**
 * A private `redis-server` for the fault suite: a free port on 127.0.0.1, its data in an
 * append-only file fsynced on every write, so it can be killed and started again with its data,
 * started again empty, or paused (SIGSTOP) like a partition. The multi-instance bench
 * (bench/multi-instance.bench.ts) starts one without persistence.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, waitForExit } from './ports.ts';

/** A running private Redis that faults can be injected into. */
export interface ChaosRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The process id now (changes on each restart). */
  pid(): number | undefined;
  /** SIGKILL (an outage begins); the data stays on disk. */
  kill(): Promise<void>;
  /** Starts it again after {@link ChaosRedis.kill}, with its data, or `empty`. */
  start(options?: { empty?: boolean }): Promise<void>;
  /** SIGKILL, then start again on the same port with the data it had (the append-only file). */
  restartWithData(): Promise<void>;
  /** SIGKILL, delete its data, then start again on the same port, empty. */
  restartEmpty(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing is answered (a partition, a stalled host). */
  pause(): void;
  /** SIGCONT after {@link ChaosRedis.pause}. */
  resume(): void;
  /** Stops it for good and deletes its data. */
  close(): Promise<void>;
}

/** Whether `redis-server` is on PATH. */
export function redisServerAvailable(): boolean {
  const result = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

function spawnRedis(port: number, dir: string, persistence: boolean): Promise<ChildProcess> {
  const appendOnly = persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...appendOnly, '--protected-mode', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} did not start within 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onExit = (code: number | null): void => fail(new Error(`redis-server on port ${port} exited with code ${String(code)}:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('exit', onExit);
  });
}

/** Resolves once nothing accepts connections on `port` any more. */
async function portClosed(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (!open) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`port ${port} still accepts connections after redis-server was killed`);
}

/** Options of {@link startChaosRedis}. */
export interface ChaosRedisOptions {
  /**
   * The append-only file, fsynced on every write, so a restart keeps the data. `false`: no
   * persistence at all (what a benchmark wants: Redis's CPU without the disk; a restart then comes
   * back empty). @defaultValue true
   */
  readonly persistence?: boolean;
}

/**
 * Starts a private redis-server keeping its data under `dir`.
 * @param dir - a folder of its own (created; its `redis/` subfolder holds the data)
 * @param options - persistence
 */
export async function startChaosRedis(dir: string, options: ChaosRedisOptions = {}): Promise<ChaosRedis> {
  const persistence = options.persistence ?? true;
  const port = await freePort();
  const dataDir = join(dir, 'redis');
  mkdirSync(dataDir, { recursive: true });
  let child: ChildProcess = await spawnRedis(port, dataDir, persistence);
  const stop = async (): Promise<void> => {
    const dying = child;
    if (dying.exitCode !== null || dying.signalCode !== null) return;
    // A paused process must be continued to die of anything but SIGKILL; SIGKILL works either way.
    dying.kill('SIGKILL');
    await waitForExit(dying);
    await portClosed(port);
  };
  const wipe = (): void => {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child.pid,
    kill: stop,
    async start(options = {}) {
      if (options.empty === true) wipe();
      child = await spawnRedis(port, dataDir, persistence);
    },
    async restartWithData() {
      await stop();
      child = await spawnRedis(port, dataDir, persistence);
    },
    async restartEmpty() {
      await stop();
      wipe();
      child = await spawnRedis(port, dataDir, persistence);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
