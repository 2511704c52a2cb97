/**
 * A private `redis-server` for the fault suite: a free port on 127.0.0.1, its data in an
 * append-only file fsynced on every write, so it can be killed and started again with its data,
 * started again empty, or paused (SIGSTOP) like a partition. The multi-instance bench
 * (bench/multi-instance.bench.ts) starts one without persistence.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { portClosed, spawnRedisServer, waitForExit } from '../redis-process.ts';
import { freePort } from './ports.ts';

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

export { redisServerAvailable } from '../redis-process.ts';

function spawnRedis(port: number, dir: string, persistence: boolean): Promise<ChildProcess> {
  const appendOnly = persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  return spawnRedisServer(port, ['--dir', dir, ...appendOnly]);
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
