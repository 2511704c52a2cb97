/**
 * A private 3-master Redis Cluster for a test file: three `redis-server --cluster-enabled yes` on
 * free ports of 127.0.0.1, each in its own temporary directory (its nodes.conf), joined with
 * `redis-cli --cluster create … --cluster-replicas 0`, no persistence, torn down by `close()`
 * (and killed with the test process).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisCommand, spawnServer } from './redis-server.ts';

/** A running private cluster. */
export interface RedisCluster {
  readonly ports: readonly number[];
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>` (what `REDIS_URL` takes). */
  readonly url: string;
  /** Stops every node and removes their directories. */
  close(): Promise<void>;
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited with ${String(code)}:\n${output}`))));
  });
}

/** Starts three masters on free ports and makes them one cluster; resolves once every node says `cluster_state:ok`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort();
    // The cluster bus listens on port + 10000: both must be free (and below 65536).
    if (port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
  }
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(
      children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  };
  try {
    for (const port of ports) {
      const dir = await mkdtemp(join(tmpdir(), `sluice-cluster-${port}-`));
      dirs.push(dir);
      children.push(await spawnServer(port, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir], dir));
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await redisCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the cluster node on port ${port} is not ok after 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { ports, url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, close };
}
