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

/** Three free ports whose cluster bus ports (+ 10000) exist too. */
export async function freeClusterPorts(count = 3): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** A running private cluster. */
export interface RedisCluster {
  /** Every node's port (masters and replicas). */
  readonly ports: readonly number[];
  /** The port of the master serving `key` now. */
  masterOf(key: string): Promise<number>;
  /** Kills one node at once (SIGKILL), as a crash would. */
  kill(port: number): Promise<void>;
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

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Replicas per master (`--cluster-replicas`). @defaultValue 0 */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master is unreachable before a replica takes its place. @defaultValue Redis's (15 s) */
  nodeTimeoutMs?: number;
  /** The ports to use (free ones when not given). */
  ports?: readonly number[];
}

/**
 * Starts three masters (and their replicas) on free ports and makes them one cluster; resolves once
 * every node says `cluster_state:ok` and every replica has synchronised with its master.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const ports: number[] = [...(options.ports ?? [])];
  // The cluster bus listens on port + 10000: both must be free (and below 65536).
  for (const port of await freeClusterPorts(3 * (1 + replicas) - ports.length)) if (!ports.includes(port)) ports.push(port);
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
      const timeout = options.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(options.nodeTimeoutMs)];
      children.push(await spawnServer(port, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir, ...timeout], dir));
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await redisCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the cluster node on port ${port} is not ok after 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // A replica that never synchronised cannot take its master's place.
      while (!/role:master|master_link_status:up/.test(await redisCommand(port, ['INFO', 'replication']))) {
        if (Date.now() > deadline) throw new Error(`the replica on port ${port} has not synchronised after 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const masterOf = async (key: string): Promise<number> => {
    let slot = -1;
    for (const port of ports) {
      let nodes: string;
      try {
        slot = Number(await redisCommand(port, ['CLUSTER', 'KEYSLOT', key]));
        nodes = await redisCommand(port, ['CLUSTER', 'NODES']);
      } catch {
        continue; // a killed node
      }
      for (const line of nodes.split('\n')) {
        const fields = line.split(' ');
        if (!(fields[2] ?? '').split(',').includes('master') || (fields[2] ?? '').includes('fail')) continue;
        for (const range of fields.slice(8)) {
          const [from, to = from] = range.split('-').map(Number);
          if (from !== undefined && to !== undefined && slot >= from && slot <= to) return Number((fields[1] ?? '').split(':')[1]?.split('@')[0]);
        }
      }
      break;
    }
    throw new Error(`no master serves ${key} (slot ${slot})`);
  };
  const kill = async (port: number): Promise<void> => {
    const child = children[ports.indexOf(port)];
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  return { ports, url: `redis+cluster://${ports.slice(0, 3).map((port) => `127.0.0.1:${port}`).join(',')}`, masterOf, kill, close };
}
