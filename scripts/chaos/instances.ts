/**
 * `sluice serve` instances of the fault suite (the built CLI, `dist/cli/sluice.js`), each on a
 * port of its own that survives restarts, so nginx's upstream list stays the same.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep, waitForExit } from './ports.ts';

/** The built CLI the suite runs (`npm run build` makes it). */
export const CLI = fileURLToPath(new URL('../../dist/cli/sluice.js', import.meta.url));

/** What the suite writes into an instance's log when it did not exit after failing to listen. */
export const LISTEN_HANG_MARKER = 'chaos: sluice serve printed EADDRINUSE and was still running 3 s later';

/** How one process of an instance ended. */
export interface InstanceExit {
  readonly instance: number;
  readonly pid: number | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the schedule asked for it (SIGKILL, SIGTERM, the final stop). */
  readonly expected: boolean;
  readonly at: number;
}

/** One instance slot: a port and the process serving it now. */
export interface Instance {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  /** The process id now, undefined while it is down. */
  pid(): number | undefined;
  /** Whether a process is serving now. */
  up(): boolean;
  /** Every line it printed, of every process it ran so far. */
  output(): string;
  /** Starts the process (again), resolving once it listens. */
  start(): Promise<void>;
  /** Sends a signal the schedule injects; the exit that follows is expected. */
  signal(signal: 'SIGKILL' | 'SIGTERM'): void;
  /** Resolves once the current process has exited. */
  exited(): Promise<void>;
  /** Stops it for good (SIGTERM, SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/**
 * Creates an instance slot on `port`; call `start()`.
 * @param index - its number (0, 1, 2 …) in the report
 * @param port - its port, kept across restarts
 * @param env - added to this process's environment (REDIS_URL, SLUICE_MODEL, …)
 * @param onExit - told how every process of it ended
 */
export function createInstance(index: number, port: number, env: Record<string, string>, onExit: (exit: InstanceExit) => void): Instance {
  let child: ChildProcess | undefined;
  /** The processes whose exit the schedule asked for. */
  const expected = new WeakSet<ChildProcess>();
  let log = '';
  const url = `http://127.0.0.1:${port}`;

  const spawnOnce = (): Promise<boolean> => {
    const started = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let own = '';
    let busy = false;
    const take = (chunk: Buffer): void => {
      own += chunk.toString();
      log += chunk.toString();
      // The port is still held (a restart right after SIGTERM): `sluice serve` exits with 1 and
      // the slot tries again. One that does not exit within 3 s is ended here (and reported).
      if (!busy && own.includes('EADDRINUSE') && !own.includes('listening on')) {
        busy = true;
        setTimeout(() => {
          if (started.exitCode !== null || started.signalCode !== null) return;
          log += `${LISTEN_HANG_MARKER}\n`;
          expected.add(started);
          started.kill('SIGKILL');
        }, 3000).unref();
      }
    };
    started.stdout?.on('data', take);
    started.stderr?.on('data', take);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${index} did not listen within 20 s:\n${own}`)), 20_000);
      const onData = (): void => {
        if (!own.includes('listening on')) return;
        clearTimeout(timer);
        started.stdout?.off('data', onData);
        resolve(true);
      };
      started.stdout?.on('data', onData);
      started.once('exit', (code, signal) => {
        clearTimeout(timer);
        const listened = own.includes('listening on');
        onExit({ instance: index, pid: started.pid, code, signal, expected: expected.has(started) || !listened, at: Date.now() });
        if (child === started) child = undefined;
        // The port was still held by the process before (a restart right after SIGTERM): try again.
        if (!listened) resolve(false);
      });
    });
  };

  return {
    index,
    port,
    url,
    pid: () => child?.pid,
    up: () => child !== undefined,
    output: () => log,
    async start() {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await spawnOnce()) return;
        await sleep(200);
      }
      throw new Error(`instance ${index} could not listen on port ${port}:\n${log.slice(-2000)}`);
    },
    signal(signal) {
      if (child === undefined) return;
      expected.add(child);
      child.kill(signal);
    },
    async exited() {
      if (child !== undefined) await waitForExit(child);
    },
    async stop() {
      const current = child;
      if (current === undefined) return;
      expected.add(current);
      current.kill('SIGTERM');
      const timer = setTimeout(() => current.kill('SIGKILL'), 15_000);
      await waitForExit(current);
      clearTimeout(timer);
    },
  };
}

/** Open file descriptors of a process (Linux `/proc/<pid>/fd`), undefined when unknown. */
export function openFds(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/fd`)) return undefined;
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // The process is gone, or /proc is not Linux's.
    return undefined;
  }
}

/** Resident memory of a process in bytes (Linux `/proc/<pid>/status`), undefined when unknown. */
export function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    // The process is gone, or /proc is not Linux's.
    return undefined;
  }
}
