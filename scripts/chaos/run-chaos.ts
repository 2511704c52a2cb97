/**
 * The fault suite: a private Redis, three `sluice serve` instances, Debian's nginx in front with
 * deploy/nginx.conf, the fake upstream model, many concurrent streams whose clients drop and resume
 * through nginx, and a seeded schedule of faults; then the checker. `npm run chaos` (index.ts) and
 * test/chaos.node.test.ts both call {@link runChaos}.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeededRandom } from '../../src/providers/replay/seeded-random.ts';
import { checkStream, overlaps, type InjectedFault, type Violation } from './checker.ts';
import { runStreamClient, type StreamPlan, type StreamRecord } from './client.ts';
import { modelFor, startFakeUpstream, UPSTREAM_FAULTS, type UpstreamBehaviour } from './fake-upstream.ts';
import { createInstance, LISTEN_HANG_MARKER, openFds, residentBytes, type Instance, type InstanceExit } from './instances.ts';
import { findNginx, startNginx } from './nginx.ts';
import { freePort, sleep } from './ports.ts';
import { startChaosRedis } from './redis.ts';
import { openLogReader, type LogEntry } from './redis-log.ts';
import { sendMalformedBurst } from './malformed.ts';

/** Faults the schedule injects into processes (the upstream and client faults are per stream). */
export const SCHEDULED_FAULTS = ['instance-kill', 'instance-drain', 'instance-restart', 'redis-restart-data', 'redis-restart-empty', 'redis-pause', 'malformed-burst'] as const;
/** Every fault kind of the table. */
export const FAULT_KINDS = [...SCHEDULED_FAULTS, ...UPSTREAM_FAULTS.map((fault) => `upstream-${fault}`), 'client-stall', 'client-drop'] as const;

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  seed: number;
  /** Streams started over the run. */
  streams: number;
  /** How long faults are injected and streams started, in seconds (the run then waits for the streams to end). */
  seconds: number;
  /** How many times each scheduled fault kind is injected. */
  faultsPerKind: number;
  /** Told what happens, one line at a time. @defaultValue nothing */
  log?: (line: string) => void;
}

/** One row of the table. */
export interface FaultRow {
  readonly fault: string;
  readonly injected: number;
  readonly streamsAffected: number;
  readonly violations: number;
}

/** What {@link runChaos} found. */
export interface ChaosResult {
  readonly options: Omit<ChaosOptions, 'log'>;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly faults: InjectedFault[];
  readonly table: FaultRow[];
  readonly violations: Violation[];
  readonly streams: { record: StreamRecord; log: LogEntry[] | undefined; violations: Violation[] }[];
  readonly outcomes: Record<string, number>;
  readonly terminals: Record<string, number>;
  readonly instances: { index: number; pid?: number; activeStreams?: number; fds?: number; baselineFds?: number; rss?: number; baselineRss?: number }[];
  readonly exits: InstanceExit[];
  readonly malformed: { requests: number; statuses: Record<string, number> };
}

/** The instances' environment besides REDIS_URL and the model. */
const INSTANCE_ENV = {
  SLUICE_DETACH_GRACE_MS: '10000',
  SLUICE_DRAIN_MS: '4000',
  SLUICE_SEND_TIMEOUT_MS: '5000',
  SLUICE_LOCAL_TTFT_MS: '50',
  SLUICE_LOCAL_TPS: '60',
  // nginx is the instances' only peer: they believe its X-Forwarded-For (deploy/nginx.conf says so).
  SLUICE_TRUST_PROXY: '127.0.0.1',
  // Each instance logs errors it could not tell anyone about; the checker reads them.
  NODE_OPTIONS: '',
};
/** A client gives up on its stream after this long (the upstream stall alone takes ~35 s). */
const STREAM_DEADLINE_MS = 100_000;
/** After the last stream ended: the longest wait for `sluice_active_streams` to drop to 0. */
const SETTLE_MS = 30_000;
/** Growth allowed over the baseline after the run. */
const FD_SLACK = 16;
const RSS_FACTOR = 2.5;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** The seeded plan: streams and fault times. */
export function planRun(options: Pick<ChaosOptions, 'seed' | 'streams' | 'seconds' | 'faultsPerKind'>): { plans: StreamPlan[]; schedule: { kind: (typeof SCHEDULED_FAULTS)[number]; at: number; target: number }[] } {
  const random = createSeededRandom(options.seed);
  const windowMs = options.seconds * 1000;
  // Upstream faults: each at least faultsPerKind streams, the rest mostly healthy; 10 % use `local`.
  const behaviours: (UpstreamBehaviour | 'local')[] = [];
  for (const fault of UPSTREAM_FAULTS) for (let i = 0; i < options.faultsPerKind; i++) behaviours.push(fault);
  while (behaviours.length < options.streams) behaviours.push(random() < 0.12 ? 'local' : random() < 0.15 ? pick(random, UPSTREAM_FAULTS) : 'ok');
  const stalls = new Set<number>();
  while (stalls.size < Math.min(options.streams, Math.max(options.faultsPerKind, Math.round(options.streams * 0.03)))) stalls.add(Math.floor(random() * options.streams));
  const plans: StreamPlan[] = behaviours.slice(0, options.streams).map((behaviour, n) => {
    // A stalled upstream takes the idle timeout (30 s) to end: those start early enough to finish.
    const latest = behaviour === 'stall' ? Math.max(0, windowMs - 40_000) : windowMs * 0.85;
    const drops: number[] = [];
    const connections = random() < 0.7 ? 1 + Math.floor(random() * 4) : 0;
    for (let i = 0; i < connections; i++) drops.push(1 + Math.floor(random() * 30));
    const plan: StreamPlan = {
      n,
      startAt: Math.floor(random() * latest),
      endpoint: random() < 0.25 ? 'ai-sdk' : 'native',
      model: behaviour === 'local' ? 'local' : `openai:${modelFor(behaviour, n)}`,
      drops,
      resumeDelayMs: Math.floor(random() * 400),
      clientAddress: `10.77.${Math.floor(n / 250)}.${1 + (n % 50)}`,
      ...(stalls.has(n) ? { stall: { afterEvents: 2 + Math.floor(random() * 10), ms: 2000 + Math.floor(random() * 6000) } } : {}),
    };
    return plan;
  });
  // Scheduled faults: instance faults one at a time, Redis faults one at a time, bursts anywhere.
  const schedule: { kind: (typeof SCHEDULED_FAULTS)[number]; at: number; target: number }[] = [];
  const spread = (kinds: readonly (typeof SCHEDULED_FAULTS)[number][], offset: number): void => {
    const list: (typeof SCHEDULED_FAULTS)[number][] = [];
    for (let i = 0; i < options.faultsPerKind; i++) list.push(...kinds);
    // Seeded order within the list.
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j] as (typeof list)[number], list[i] as (typeof list)[number]];
    }
    const start = 3000;
    const span = windowMs * 0.8 - start;
    list.forEach((kind, i) => schedule.push({ kind, at: Math.floor(start + span * ((i + offset) / list.length)), target: Math.floor(random() * 3) }));
  };
  spread(['instance-kill', 'instance-drain', 'instance-restart'], 0.1);
  spread(['redis-restart-data', 'redis-restart-empty', 'redis-pause'], 0.6);
  spread(['malformed-burst'], 0.35);
  schedule.sort((a, b) => a.at - b.at);
  return { plans, schedule };
}

/** Runs the suite; throws when nginx, redis-server or the build is missing. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const nginxBinary = findNginx();
  if (nginxBinary === undefined) throw new Error('nginx is not installed (Debian: apt-get install nginx); the fault suite runs it in front of the instances.');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
  const t0 = Date.now();
  const at = (): number => Date.now() - t0;
  const { plans, schedule } = planRun(options);
  const faults: InjectedFault[] = [];
  const exits: InstanceExit[] = [];
  const stop = new AbortController();
  const cleanups: (() => Promise<void>)[] = [];
  const instances: Instance[] = [];
  try {
    const redis = await startChaosRedis(dir);
    cleanups.push(() => redis.close());
    const upstream = await startFakeUpstream();
    cleanups.push(() => upstream.close());
    const ports = [await freePort(), await freePort(), await freePort()];
    const env = { ...INSTANCE_ENV, REDIS_URL: redis.url, SLUICE_MODEL: `openai:${modelFor('ok', 0)}`, OPENAI_API_KEY: 'chaos', OPENAI_BASE_URL: upstream.baseUrl };
    ports.forEach((port, index) => instances.push(createInstance(index, port, env, (exit) => exits.push(exit))));
    cleanups.push(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
    });
    await Promise.all(instances.map((instance) => instance.start()));
    const nginxPrefix = join(dir, 'nginx');
    mkdirSync(nginxPrefix, { recursive: true });
    const nginx = await startNginx(nginxBinary, nginxPrefix, ports, await freePort());
    cleanups.push(() => nginx.stop());
    log(`redis :${redis.port}, instances :${ports.join(' :')}, nginx ${nginx.url}, upstream ${upstream.baseUrl}`);

    // Warm up and take each instance's baseline (file descriptors, memory).
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${nginx.url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'warm up' }] }) });
      await response.text();
    }
    await sleep(500);
    const baseline = new Map<number, { fds?: number; rss?: number }>();
    const takeBaseline = (instance: Instance): void => {
      const pid = instance.pid();
      if (pid === undefined) return;
      const fds = openFds(pid);
      const rss = residentBytes(pid);
      baseline.set(pid, { ...(fds === undefined ? {} : { fds }), ...(rss === undefined ? {} : { rss }) });
    };
    for (const instance of instances) takeBaseline(instance);

    const start = Date.now();
    const t1 = (): number => Date.now() - start;
    // The streams.
    // Each stream's log is read from Redis as soon as its client ends (a later Redis restart
    // without data must not take the evidence with it).
    const logs = new Map<number, { entries: LogEntry[]; readAt: number }>();
    const records: Promise<StreamRecord>[] = plans.map(async (plan) => {
      await sleep(plan.startAt);
      const record = await runStreamClient(plan, { baseUrl: nginx.url, t0: start, deadlineMs: STREAM_DEADLINE_MS, signal: stop.signal });
      if (record.streamId !== undefined) {
        const entries = await readLog(redis.port, record.streamId);
        // When the reply came (a read retried across a Redis restart is answered by the new one).
        const readAt = t1();
        if (entries !== undefined) logs.set(plan.n, { entries, readAt });
      }
      return record;
    });
    // The schedule: instance faults and Redis faults each one at a time (a lock each).
    let instanceLock = Promise.resolve();
    let redisLock = Promise.resolve();
    const malformed = { requests: 0, statuses: {} as Record<string, number> };
    const malformedViolations: Violation[] = [];
    const injections = schedule.map(async (item) => {
      await sleep(item.at);
      const run = async (): Promise<void> => {
        const fault: InjectedFault = { kind: item.kind, at: t1(), endedAt: Infinity, target: item.kind.startsWith('instance') ? `instance ${item.target}` : item.kind.startsWith('redis') ? 'redis' : 'nginx' };
        faults.push(fault);
        log(`${(fault.at / 1000).toFixed(1)} s  ${item.kind}${fault.target === undefined ? '' : ` (${fault.target})`}`);
        const instance = instances[item.target] as Instance;
        switch (item.kind) {
          case 'instance-kill':
            instance.signal('SIGKILL');
            await instance.exited();
            await sleep(2000);
            await instance.start();
            takeBaseline(instance);
            break;
          case 'instance-drain':
            instance.signal('SIGTERM');
            await instance.exited();
            await instance.start();
            takeBaseline(instance);
            break;
          case 'instance-restart':
            // A rolling restart: the new process takes the port as soon as the old one lets go of it.
            instance.signal('SIGTERM');
            await instance.start();
            takeBaseline(instance);
            break;
          case 'redis-restart-data':
            await redis.restartWithData();
            break;
          case 'redis-restart-empty':
            await redis.restartEmpty();
            break;
          case 'redis-pause':
            redis.pause();
            await sleep(3000);
            redis.resume();
            break;
          case 'malformed-burst': {
            const burst = await sendMalformedBurst(nginx.url);
            malformed.requests += burst.requests;
            for (const [status, count] of Object.entries(burst.statuses)) malformed.statuses[status] = (malformed.statuses[status] ?? 0) + count;
            malformedViolations.push(...burst.violations);
            break;
          }
        }
        fault.endedAt = t1();
      };
      if (item.kind.startsWith('instance')) {
        const turn = instanceLock.then(run);
        instanceLock = turn.catch(() => undefined);
        return turn;
      }
      if (item.kind.startsWith('redis')) {
        const turn = redisLock.then(run);
        redisLock = turn.catch(() => undefined);
        return turn;
      }
      return run();
    });
    const injected = await Promise.allSettled(injections);
    const failedInjections = injected.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
    const finished = await Promise.all(records);
    log(`${(t1() / 1000).toFixed(1)} s  every stream ended; checking`);

    // Settle: every survivor's active streams back to 0, then its fds and memory.
    const instanceReport: ChaosResult['instances'] = [];
    const violations: Violation[] = [...malformedViolations];
    for (const message of failedInjections) violations.push({ rule: 'injection_failed', detail: message });
    for (const instance of instances) {
      const pid = instance.pid();
      let active: number | undefined;
      const until = Date.now() + SETTLE_MS;
      for (;;) {
        active = await activeStreams(instance.url);
        if (active === 0 || Date.now() > until) break;
        await sleep(500);
      }
      await sleep(1000);
      const fds = openFds(pid);
      const rss = residentBytes(pid);
      const base = pid === undefined ? undefined : baseline.get(pid);
      instanceReport.push({
        index: instance.index,
        ...(pid === undefined ? {} : { pid }),
        ...(active === undefined ? {} : { activeStreams: active }),
        ...(fds === undefined ? {} : { fds }),
        ...(base?.fds === undefined ? {} : { baselineFds: base.fds }),
        ...(rss === undefined ? {} : { rss }),
        ...(base?.rss === undefined ? {} : { baselineRss: base.rss }),
      });
      if (!instance.up()) violations.push({ rule: 'instance_down', detail: `instance ${instance.index} is not running at the end` });
      if (active !== 0) {
        const metrics = await fetch(`${instance.url}/metrics`).then(
          async (response) => (await response.text()).split('\n').filter((line) => /^sluice_(active|open|quota)/.test(line)).join('; '),
          () => 'unreachable',
        );
        violations.push({
          rule: 'active_streams',
          detail: `instance ${instance.index}: sluice_active_streams is ${String(active)} ${SETTLE_MS / 1000} s after the last stream ended (${metrics}); its last output: ${instance.output().slice(-1500)}`,
        });
      }
      if (fds !== undefined && base?.fds !== undefined && fds > base.fds + FD_SLACK) {
        violations.push({ rule: 'fd_leak', detail: `instance ${instance.index}: ${fds} open file descriptors after the run, ${base.fds} at its start` });
      }
      if (rss !== undefined && base?.rss !== undefined && rss > base.rss * RSS_FACTOR) {
        violations.push({ rule: 'memory', detail: `instance ${instance.index}: RSS ${mb(rss)} after the run, ${mb(base.rss)} at its start (limit ×${RSS_FACTOR})` });
      }
    }
    for (const exit of exits) {
      if (!exit.expected) violations.push({ rule: 'unexpected_exit', detail: `instance ${exit.instance} (pid ${String(exit.pid)}) exited by itself: code ${String(exit.code)} signal ${String(exit.signal)}` });
    }
    for (const instance of instances) {
      if (instance.output().includes(LISTEN_HANG_MARKER)) {
        violations.push({ rule: 'listen_error_hang', detail: `instance ${instance.index}: \`sluice serve\` failed to listen (EADDRINUSE) and did not exit within 3 s` });
      }
      const crash = /uncaught|unhandled ?rejection|triggerUncaughtException|ERR_INVALID_STATE|FATAL ERROR/i.exec(instance.output());
      if (crash) {
        const where = instance.output().indexOf(crash[0]);
        violations.push({ rule: 'uncaught_exception', detail: `instance ${instance.index} logged: ${instance.output().slice(Math.max(0, where - 200), where + 400)}` });
      }
    }
    if (!nginx.running()) violations.push({ rule: 'nginx_exit', detail: 'nginx exited during the run' });

    // Every stream against its log in Redis.
    const streams: ChaosResult['streams'] = [];
    for (const record of finished) {
      const early = logs.get(record.plan.n);
      const entries = early?.entries ?? (record.streamId === undefined ? undefined : await readLog(redis.port, record.streamId));
      const readAt = early?.readAt ?? t1();
      const found = checkStream(record, entries, faults, readAt);
      streams.push({ record, log: entries, violations: found });
      violations.push(...found);
    }

    // The table.
    const table: FaultRow[] = [];
    const rowFor = (fault: string, injectedCount: number, affected: StreamRecord[], extra = 0): void => {
      const ids = new Set(affected.map((record) => record.plan.n));
      const count = streams.reduce((sum, stream) => sum + (ids.has(stream.record.plan.n) ? stream.violations.length : 0), 0);
      table.push({ fault, injected: injectedCount, streamsAffected: affected.length, violations: count + extra });
    };
    for (const kind of SCHEDULED_FAULTS) {
      const list = faults.filter((fault) => fault.kind === kind);
      const affected = finished.filter((record) => list.some((fault) => overlaps(record, fault)));
      rowFor(kind, list.length, kind === 'malformed-burst' ? [] : affected, kind === 'malformed-burst' ? malformedViolations.length : 0);
    }
    for (const fault of UPSTREAM_FAULTS) {
      const affected = finished.filter((record) => record.plan.model === `openai:${modelFor(fault, record.plan.n)}`);
      rowFor(`upstream-${fault}`, affected.length, affected);
    }
    const stalled = finished.filter((record) => record.plan.stall !== undefined);
    rowFor('client-stall', stalled.length, stalled);
    const dropped = finished.filter((record) => record.plan.drops.length > 0);
    rowFor('client-drop', dropped.reduce((sum, record) => sum + record.connections.filter((connection) => connection.end === 'dropped').length, 0), dropped);
    const streamViolations = streams.reduce((sum, stream) => sum + stream.violations.length, 0);
    table.push({ fault: 'all streams', injected: faults.length, streamsAffected: finished.length, violations: streamViolations });
    table.push({ fault: 'processes and requests', injected: 0, streamsAffected: 0, violations: violations.length - streamViolations });

    const outcomes: Record<string, number> = {};
    const terminals: Record<string, number> = {};
    for (const { record, log: entries } of streams) {
      outcomes[record.outcome ?? 'none'] = (outcomes[record.outcome ?? 'none'] ?? 0) + 1;
      const last = entries?.at(-1)?.event;
      const name = last === undefined ? 'no log' : last.type === 'error' ? `error ${String(last.code)}` : last.type === 'abort' ? `abort ${String(last.reason)}` : String(last.type);
      terminals[name] = (terminals[name] ?? 0) + 1;
    }
    return {
      options: { seed: options.seed, streams: options.streams, seconds: options.seconds, faultsPerKind: options.faultsPerKind },
      startedAt: new Date(t0).toISOString(),
      durationMs: at(),
      faults,
      table,
      violations,
      streams,
      outcomes,
      terminals,
      instances: instanceReport,
      exits,
      malformed,
    };
  } finally {
    stop.abort();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stream's log from Redis, retried while Redis is restarting or paused; undefined if it never answered. */
async function readLog(port: number, streamId: string): Promise<LogEntry[] | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const reader = await openLogReader(port);
      try {
        return await Promise.race([
          reader.read(streamId),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('Redis did not answer within 2 s')), 2000)),
        ]);
      } finally {
        reader.close();
      }
    } catch {
      // Redis is restarting or paused: try again shortly.
      await sleep(500);
    }
  }
  return undefined;
}

async function activeStreams(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = /^sluice_active_streams(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    // Not reachable.
    return undefined;
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MB`;
}

/**
 * The table as text.
 * @param table - from {@link runChaos}
 */
export function formatTable(table: readonly FaultRow[]): string {
  const header = ['fault', 'times injected', 'streams affected', 'violations'];
  const rows = table.map((row) => [row.fault, String(row.injected), String(row.streamsAffected), String(row.violations)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] as number) : cell.padStart(widths[column] as number))).join(' | ')} |`;
  return [line(header), `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}
