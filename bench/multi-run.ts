/**
 * The orchestration of the multi-instance bench (bench/multi-instance.bench.ts): a private Redis
 * (no persistence), three built `sluice serve` instances on it, Debian's nginx in front of them
 * with the shipped deploy/nginx.conf — the fault suite's own pieces (scripts/chaos/redis.ts,
 * instances.ts, nginx.ts) — and W5's load generator (bench/w5-client.ts) in its `resume` mode
 * through nginx. Mid-answer, the instance producing the most runs is killed with SIGKILL; its
 * chats' answers break off, their clients resume through nginx (`GET /api/chat/:id/stream`), and
 * another instance takes the runs over (docs/takeover.md) or ends them `producer_lost`.
 *
 * Everything listens on 127.0.0.1, the load generators stop at their deadline, and every process
 * started here is stopped before {@link runMulti} returns or throws.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { CLI, createInstance, type Instance } from '../scripts/chaos/instances.ts';
import { findNginx, startNginx, type ChaosNginx } from '../scripts/chaos/nginx.ts';
import { freePort } from '../scripts/chaos/ports.ts';
import { redisServerAvailable, startChaosRedis, type ChaosRedis } from '../scripts/chaos/redis.ts';
import { cpuSeconds } from './process-helpers.ts';
import { gapPercentile, type W5ChatDetail, type W5ClientReport } from './w5-shared.ts';

const CLIENT = fileURLToPath(new URL('w5-client.ts', import.meta.url));
/** The header nginx adds (from the wrapper's `http {}`, the shipped file unchanged): the upstream that served an answer. */
const UPSTREAM_HEADER = 'add_header X-Sluice-Upstream $upstream_addr always;';

/** What to run. */
export interface MultiOptions {
  /** Concurrent chats, spread over the instances by nginx. */
  readonly clients: number;
  /** Tokens per second of the local model. @defaultValue 50 */
  readonly tps?: number;
  /** The local model's time to first token, ms. @defaultValue 300 */
  readonly ttftMs?: number;
  /** The chats start over this many ms. @defaultValue 2000 */
  readonly rampMs?: number;
  /** The kill, in ms after the first chat's start. @defaultValue 5000 */
  readonly killAfterMs?: number;
  /** `SLUICE_PADDING` of the instances. @defaultValue 'on' */
  readonly padding?: string;
  /** Load-generator processes. @defaultValue 2 */
  readonly loadGenerators?: number;
  /** How long past a chat's due end (plus the takeover lease) the load generators wait. @defaultValue 30000 */
  readonly graceMs?: number;
}

/** One instance's share. */
export interface InstanceRow {
  readonly index: number;
  readonly port: number;
  readonly killed: boolean;
  /** User + system CPU over its window (the killed one's ends at the kill). */
  readonly cpuSeconds: number;
  /** SSE frames clients received from it (first answers and resumes, replays included). */
  readonly frames: number;
  /** Chats whose `POST` it answered (runs it started). */
  readonly chats: number;
  /** Runs it took over (`sluice_takeovers_total`, by outcome), read after the chats; undefined for the killed one. */
  readonly takeovers?: Record<string, number>;
}

/** What a run measured, for the checker and the table. */
export interface MultiResult {
  readonly clients: number;
  readonly tps: number;
  readonly victim: number;
  /** Epoch ms, fractional. */
  readonly startAt: number;
  readonly killAt: number;
  /** Runs producing on the victim just before the kill (its `sluice_active_streams`). */
  readonly victimActive: number;
  readonly instances: readonly InstanceRow[];
  readonly nginxCpuSeconds: number;
  readonly redisCpuSeconds: number;
  /** Events in the streams' logs at the end (the sum of every stream's last id) and the streams. */
  readonly redisEvents: number;
  readonly redisStreams: number;
  /** Frames received with no `X-Sluice-Upstream` header. */
  readonly unattributedFrames: number;
  readonly frames: number;
  readonly chats: readonly W5ChatDetail[];
  /** Delta gaps on the first answers, ms. */
  readonly gapP50: number;
  readonly gapP99: number;
  readonly loadGenCpuSeconds: number;
  /** The first few failures the load generators noted. */
  readonly failures: readonly [number, string][];
  /** The window, seconds. */
  readonly seconds: number;
}

/** Whether the machine has what the bench runs: nginx, redis-server and the built CLI. */
export function missingForMulti(): string | undefined {
  if (findNginx() === undefined) return 'nginx is not installed (Debian: apt-get install nginx)';
  if (!redisServerAvailable()) return 'redis-server is not on PATH (Debian: apt-get install redis-server)';
  if (!existsSync(CLI)) return `${CLI} is missing: run npm run build first`;
  return undefined;
}

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** CPU seconds of a process and its children (nginx's master and workers), 0 for one gone. */
function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = 0;
  try {
    total += cpuSeconds(pid);
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)) total += cpuSeconds(Number(child));
  } catch {
    // The process is gone.
  }
  return total;
}

/** A value of one series of an instance's `/metrics`, undefined when unreachable. */
async function metric(url: string, series: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    const line = text.split('\n').find((row) => row.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  } catch {
    // Unreachable (overloaded, or gone).
    return undefined;
  }
}

async function readReport(child: ChildProcess): Promise<W5ClientReport> {
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`load generator exited with ${String(code)}`);
  return JSON.parse(out) as W5ClientReport;
}

/** Streams in Redis and the events in their logs (each stream's `lastId`, from its state hash). */
async function countEvents(url: string): Promise<{ streams: number; events: number }> {
  const client = createClient({ url });
  await client.connect();
  try {
    const script = `local n, total, cursor = 0, 0, '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local last = redis.call('HGET', key, 'lastId')
    if last then n = n + 1; total = total + tonumber(last) end
  end
until cursor == '0'
return {n, total}`;
    const [streams, events] = (await client.sendCommand(['EVAL', script, '0', 'sluice:{*}:state'])) as [number, number];
    return { streams, events };
  } finally {
    await client.close();
  }
}

/**
 * Runs the bench once: starts everything, runs the chats, kills one instance mid-answer, waits for
 * every chat to end (or the load generators' deadline), measures, and stops everything.
 * @param options - size and timing
 * @returns what it measured
 */
export async function runMulti(options: MultiOptions): Promise<MultiResult> {
  const missing = missingForMulti();
  if (missing !== undefined) throw new Error(`the multi-instance bench cannot run: ${missing}`);
  const tps = options.tps ?? 50;
  const ttftMs = options.ttftMs ?? 300;
  const rampMs = options.rampMs ?? 2000;
  const killAfterMs = options.killAfterMs ?? 5000;
  const generators = options.loadGenerators ?? 2;
  const graceMs = options.graceMs ?? 30_000;
  const chatMs = ttftMs + ((31 + 357) * 1000) / tps;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-multi-'));
  let redis: ChaosRedis | undefined;
  let nginx: ChaosNginx | undefined;
  const instances: Instance[] = [];
  const loads: ChildProcess[] = [];
  try {
    redis = await startChaosRedis(dir, { persistence: false });
    const ports = [await freePort(), await freePort(), await freePort()];
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      SLUICE_MODEL: 'local',
      SLUICE_LOCAL_TPS: String(tps),
      SLUICE_LOCAL_TTFT_MS: String(ttftMs),
      SLUICE_PADDING: options.padding ?? 'on',
      SLUICE_LIMIT_STREAMS: '0',
      SLUICE_LIMIT_STREAMS_PER_MINUTE: '0',
      SLUICE_LIMIT_FOLLOWERS: '0',
      SLUICE_MAX_CONNECTIONS: '100000',
      SLUICE_API_KEYS: '',
      SLUICE_TRUST_PROXY: '127.0.0.1',
    };
    for (const [index, port] of ports.entries()) instances.push(createInstance(index, port, env, () => undefined));
    await Promise.all(instances.map((instance) => instance.start()));
    for (const instance of instances) {
      for (let attempt = 0; ; attempt++) {
        const ready = await fetch(`${instance.url}/readyz`).then((response) => response.ok, () => false);
        if (ready) break;
        if (attempt > 100) throw new Error(`instance ${instance.index} is not ready after 10 s:\n${instance.output().slice(-2000)}`);
        await sleep(100);
      }
    }
    nginx = await startNginx(findNginx()!, join(dir, 'nginx'), ports, await freePort(), { httpDirectives: [UPSTREAM_HEADER] });
    const nginxPort = Number(new URL(nginx.url).port);

    const cpuBefore = instances.map((instance) => cpuSeconds(instance.pid()!));
    const redisBefore = cpuSeconds(redis.pid()!);
    const nginxBefore = treeCpuSeconds(nginx.pid);
    const startAt = Date.now() + 300;
    const deadline = startAt + rampMs + chatMs + 12_000 + graceMs;
    for (let k = 0; k < generators; k++) {
      const args = [CLIENT, String(nginxPort), '/api/chat', ...[k, generators, options.clients, rampMs, startAt, deadline].map(String), 'resume'];
      loads.push(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
    }
    const reports = Promise.all(loads.map(readReport));
    // Don't leave a rejection unhandled while the kill is pending.
    reports.catch(() => undefined);

    await sleep(startAt + killAfterMs - Date.now());
    const active = await Promise.all(instances.map(async (instance) => (await metric(instance.url, 'sluice_active_streams')) ?? -1));
    const victim = active.indexOf(Math.max(...active));
    const victimCpu = cpuSeconds(instances[victim]!.pid()!) - cpuBefore[victim]!;
    const killAt = epochNow();
    instances[victim]!.signal('SIGKILL');

    const done = await reports;
    const endAt = Date.now();
    const cpu = instances.map((instance, index) => (index === victim ? victimCpu : cpuSeconds(instance.pid()!) - cpuBefore[index]!));
    const redisCpu = cpuSeconds(redis.pid()!) - redisBefore;
    const nginxCpu = treeCpuSeconds(nginx.pid) - nginxBefore;
    const takeovers = await Promise.all(
      instances.map(async (instance, index) => {
        if (index === victim) return undefined;
        const counts: Record<string, number> = {};
        for (const outcome of ['resumed', 'failed', 'exhausted']) counts[outcome] = (await metric(instance.url, `sluice_takeovers_total{outcome="${outcome}"}`)) ?? Number.NaN;
        return counts;
      }),
    );
    const { streams, events } = await countEvents(redis.url);

    const framesBy = new Map<string, number>();
    const histogram = new Map<number, number>();
    for (const report of done) {
      for (const [upstream, frames] of report.upstreamFrames ?? []) framesBy.set(upstream, (framesBy.get(upstream) ?? 0) + frames);
      for (const [bucket, count] of report.histogram) histogram.set(bucket, (histogram.get(bucket) ?? 0) + count);
    }
    const chats = done.flatMap((report) => report.chatDetails ?? []).sort((a, b) => a.chat - b.chat);
    const rows: InstanceRow[] = instances.map((instance, index) => ({
      index,
      port: instance.port,
      killed: index === victim,
      cpuSeconds: cpu[index]!,
      frames: framesBy.get(`127.0.0.1:${instance.port}`) ?? 0,
      chats: chats.filter((chat) => chat.upstream === `127.0.0.1:${instance.port}`).length,
      ...(takeovers[index] === undefined ? {} : { takeovers: takeovers[index] }),
    }));
    const attributed = rows.reduce((sum, row) => sum + row.frames, 0);
    const frames = done.reduce((sum, report) => sum + report.frames, 0);
    return {
      clients: options.clients,
      tps,
      victim,
      startAt,
      killAt,
      victimActive: active[victim]!,
      instances: rows,
      nginxCpuSeconds: nginxCpu,
      redisCpuSeconds: redisCpu,
      redisEvents: events,
      redisStreams: streams,
      unattributedFrames: frames - attributed,
      frames,
      chats,
      gapP50: gapPercentile(histogram, 0.5),
      gapP99: gapPercentile(histogram, 0.99),
      loadGenCpuSeconds: done.reduce((sum, report) => sum + report.cpuSeconds, 0),
      failures: done.flatMap((report) => report.failures).slice(0, 10),
      seconds: (endAt - startAt) / 1000,
    };
  } finally {
    for (const child of loads) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(instances.map((instance) => instance.stop()));
    await nginx?.stop();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
