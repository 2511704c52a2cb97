/**
 * An app instance in a child process: the real `sluice serve` command (from the sources) on a
 * free loopback port, so tests can run several instances on one store and send them signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/sluice.ts', import.meta.url));

/** A running `sluice serve`. */
export interface AppInstance {
  url: string;
  child: ChildProcess;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once it exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal. */
  kill(signal: NodeJS.Signals): void;
  /** Stops it (SIGKILL when it does not exit within 10 s of SIGTERM). */
  stop(): Promise<void>;
}

/**
 * Starts `sluice serve` with `env` added to this process's environment.
 * @param env - `REDIS_URL`, `SLUICE_LOCAL_TTFT_MS`, `SLUICE_DRAIN_MS`, …
 */
export async function startAppInstance(env: Record<string, string>): Promise<AppInstance> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, SLUICE_MODEL: 'local', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice serve did not start within 20 s:\n${output}`)), 20_000);
    const onData = (): void => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited (${String(code ?? signal)}) before listening:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    kill: (signal) => child.kill(signal),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
