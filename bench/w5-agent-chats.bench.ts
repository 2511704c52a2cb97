/**
 * W5, agent chats at scale: C concurrent chats at a fixed token rate through the reference server
 * (`sluice serve`, a child process: the run manager, the store, the agent loop), against the
 * Vercel AI SDK's `streamText` + `pipeUIMessageStreamToResponse` over a mock model paced like the
 * local model, and against a direct path (the same local model streamed with `sendStream`: no run,
 * no store), all in the AI SDK UI message stream format (`/v1/chat`'s agent SSE for the one row
 * that says so).
 *
 * Method: every server is a fresh process per row, started with a raised open-file limit and
 * warmed up with one whole chat before anything is measured (`W5_WARMUP=0`: not); the
 * token stream is the `local` model's answer to one question (31 reasoning and 357 text deltas, no tool call),
 * paced by the local model's own drift-free clock at `W5_TPS` tokens/s after `W5_TTFT_MS`. Two
 * load-generator processes (bench/w5-client.ts, raw sockets) open the C chats over 2 s and record
 * the time to each chat's first delta, the gap between consecutive deltas of each chat, frames,
 * and completion. Server CPU (user +
 * system) is read from /proc/<pid>/stat just before the first chat and after the last; CPU per
 * frame divides it by the SSE frames the clients received; the main thread's CPU alone
 * (/proc/<pid>/task/<pid>/stat) over the same window's wall time says how close the event loop
 * came to saturation (the average over the window, ramp included). Memory per live chat = (VmHWM at the end
 * − VmRSS before the first measured chat) / C. `sluice serve` runs from dist/ (run `npm run build` first)
 * with the limits raised out of the way (`SLUICE_LIMIT_STREAMS=0`, …); Redis rows use a private
 * `redis-server` (no persistence). The direct and AI SDK servers run as type-stripped JavaScript,
 * as `dist/` is.
 *
 * Run alone: `npm run build && npm run bench -- w5`. Environment: `W5_CLIENTS=300,1000` (C),
 * `W5_REDIS_CLIENTS=300` (C of the Redis rows; empty: none), `W5_TPS=50`, `W5_TTFT_MS=300`,
 * `W5_WARMUP=1` (one whole chat to each server before the window; 0: none), `W5_RUNS=1` (passes over every row, alternating; the table gives medians and each run's ratio),
 * `W5_PADDING=on|off` (the server's `SLUICE_PADDING`, on by default as in the server),
 * `W5_PEERS=direct,ai-sdk,api-chat,v1-chat,redis` (which rows; `api-chat-4` adds `/api/chat` with
 * `SLUICE_LISTEN_SOCKETS=4`, docs/server.md#listening-sockets; `direct-agent` and
 * `direct-agent-tools` the direct path through `runAgent`, without and with the server's tools,
 * still with no run or store, `bench/servers/w5-direct-agent.ts`: what the agent loop and the
 * tools cost before the server's own path), `W5_NODE_ARGS` (extra node flags
 * for every row's server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), `W5_HEAP_SNAPSHOT=1` (sends
 * `sluice serve` SIGUSR2 half-way through the chats, with `--heapsnapshot-signal=SIGUSR2` in
 * `W5_NODE_ARGS`).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nearestRank } from './multi-check.ts';
import { cpuSeconds, freePort, loadAverage, mainThreadCpuSeconds, median, statusMb } from './process-helpers.ts';
import { stripToJs } from './slow-streams.bench.ts';
import { gapPercentile, type W5ClientReport } from './w5-shared.ts';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../test/helpers/redis-server.ts';

const CLIENTS = (process.env.W5_CLIENTS ?? '300,1000').split(',').filter(Boolean).map(Number);
const REDIS_CLIENTS = (process.env.W5_REDIS_CLIENTS ?? '300').split(',').filter(Boolean).map(Number);
const TPS = Number(process.env.W5_TPS ?? 50);
const TTFT_MS = Number(process.env.W5_TTFT_MS ?? 300);
const PADDING = process.env.W5_PADDING ?? 'on';
const PEERS = (process.env.W5_PEERS ?? 'direct,ai-sdk,api-chat,v1-chat,redis').split(',');
const NODE_ARGS = (process.env.W5_NODE_ARGS ?? '').split(' ').filter(Boolean);
// Node creates a --cpu-prof-dir itself but writes a heap snapshot into --diagnostic-dir only if it exists.
for (const arg of NODE_ARGS) if (arg.startsWith('--diagnostic-dir=')) mkdirSync(arg.slice('--diagnostic-dir='.length), { recursive: true });
const HEAP_SNAPSHOT = process.env.W5_HEAP_SNAPSHOT === '1';
const RUNS = Number(process.env.W5_RUNS ?? 1);
const WARMUP = process.env.W5_WARMUP !== '0';
if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError(`Expected W5_RUNS to be an integer ≥ 1, got ${String(process.env.W5_RUNS)}.`);
const DELTAS = 31 + 357;
const RAMP_MS = 2000;
const GRACE_MS = 30_000;
const LOAD_GENERATORS = 2;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = fileURLToPath(new URL('w5-client.ts', import.meta.url));

type PeerId = 'direct' | 'direct-agent' | 'direct-agent-tools' | 'ai-sdk' | 'api-chat' | 'v1-chat' | 'redis' | 'api-chat-4';

interface Row {
  peer: PeerId;
  name: string;
  clients: number;
  report: W5ClientReport;
  cpuSeconds: number;
  /** The server's main thread's share of the window's wall time (1 = never idle). */
  mainBusy: number;
  idleRssMb: number;
  peakRssMb: number;
  p50: number;
  p99: number;
  /** Connection to first delta, ms: p50 and p99 over the chats. */
  first50: number;
  first99: number;
  /** Which of the W5_RUNS passes measured it (1-based). */
  run?: number;
}

const NAMES: Record<PeerId, string> = {
  direct: 'direct: `sendStream`, no run or store',
  'direct-agent': 'direct + `runAgent` (no tools), no run or store',
  'direct-agent-tools': "direct + `runAgent` with the server's tools, no run or store",
  'ai-sdk': 'AI SDK `streamText` + `pipeUIMessageStreamToResponse`',
  'api-chat': 'sluice serve `/api/chat`, memory store',
  'v1-chat': 'sluice serve `/v1/chat`, memory store',
  redis: 'sluice serve `/api/chat`, Redis store',
  'api-chat-4': 'sluice serve `/api/chat`, memory store, 4 listening sockets',
};

/** The bench's own servers, type-stripped to JavaScript. */
interface Scripts {
  direct: string;
  directAgent: string;
  aiSdk: string;
}

/** Which of them each peer runs; the others run `sluice serve`. */
const SCRIPTS: Partial<Record<PeerId, keyof Scripts>> = { direct: 'direct', 'direct-agent': 'directAgent', 'direct-agent-tools': 'directAgent', 'ai-sdk': 'aiSdk' };

function spawnNode(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const raise = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  return spawn('bash', ['-c', raise, 'bash', process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function readReport(child: ChildProcess): Promise<W5ClientReport> {
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`load generator exited with ${String(code)}`);
  return JSON.parse(out) as W5ClientReport;
}

/** Waits for the server's first line on stdout (its "listening" line). */
async function listening(child: ChildProcess): Promise<void> {
  const [chunk] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => [undefined])])) as [Buffer | undefined];
  if (chunk === undefined) throw new Error('the server exited before listening');
}

async function measure(peer: PeerId, clients: number, scripts: Scripts, redis: RedisServer | undefined): Promise<Row> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    SLUICE_LOCAL_TPS: String(TPS),
    SLUICE_LOCAL_TTFT_MS: String(TTFT_MS),
    SLUICE_PADDING: PADDING,
    SLUICE_LIMIT_STREAMS: '0',
    SLUICE_LIMIT_STREAMS_PER_MINUTE: '0',
    SLUICE_LIMIT_FOLLOWERS: '0',
    SLUICE_MAX_CONNECTIONS: '100000',
  };
  delete env.REDIS_URL;
  delete env.SLUICE_API_KEYS;
  delete env.SLUICE_LISTEN_SOCKETS;
  if (peer === 'redis') env.REDIS_URL = redis!.url;
  if (peer === 'api-chat-4') env.SLUICE_LISTEN_SOCKETS = '4';
  delete env.W5_DIRECT_TOOLS;
  if (peer === 'direct-agent-tools') env.W5_DIRECT_TOOLS = '1';
  // The peers without a script of their own are `sluice serve`.
  const script = SCRIPTS[peer];
  const sluice = script === undefined;
  const args = [...NODE_ARGS, ...(sluice ? [join(ROOT, 'dist/cli/sluice.js'), 'serve'] : [scripts[script]])];
  const server = spawnNode(args, env);
  server.stdout!.resume();
  const loads: ChildProcess[] = [];
  let snapshot: NodeJS.Timeout | undefined;
  try {
    await listening(server);
    // The bash wrapper execs node, so the child's pid is the server's.
    const pid = server.pid!;
    const chatMs = TTFT_MS + (DELTAS * 1000) / TPS;
    const path = peer === 'v1-chat' ? '/v1/chat' : '/api/chat';
    if (WARMUP) {
      // One whole chat first, outside the window: what a server loads or compiles on its first
      // request (sluice serve loads zod, the agent and the store's client lazily) is not a cost per frame.
      const warmAt = Date.now() + 100;
      const warm = await readReport(spawnNode([CLIENT, String(port), path, ...[0, 1, 1, 0, warmAt, warmAt + chatMs + GRACE_MS].map(String)], process.env));
      if (warm.complete !== 1) throw new Error(`the warm-up chat of ${NAMES[peer]} did not complete: ${JSON.stringify(warm.failures)}`);
    }
    const idleRssMb = statusMb(pid, 'VmRSS');
    const cpuBefore = cpuSeconds(pid);
    const mainBefore = mainThreadCpuSeconds(pid);
    const wallBefore = performance.now();
    const startAt = Date.now() + 300;
    const deadline = startAt + RAMP_MS + chatMs + GRACE_MS;
    for (let k = 0; k < LOAD_GENERATORS; k++) {
      loads.push(spawnNode([CLIENT, String(port), path, ...[k, LOAD_GENERATORS, clients, RAMP_MS, startAt, deadline].map(String)], process.env));
    }
    if (HEAP_SNAPSHOT && sluice) snapshot = setTimeout(() => server.kill('SIGUSR2'), startAt - Date.now() + RAMP_MS + chatMs / 2);
    const reports = await Promise.all(loads.map(readReport));
    const cpu = cpuSeconds(pid) - cpuBefore;
    const mainBusy = (mainThreadCpuSeconds(pid) - mainBefore) / ((performance.now() - wallBefore) / 1000);
    const peakRssMb = statusMb(pid, 'VmHWM');
    const histogram = new Map<number, number>();
    for (const report of reports) {
      for (const [bucket, count] of report.histogram) histogram.set(bucket, (histogram.get(bucket) ?? 0) + count);
    }
    const report: W5ClientReport = {
      chats: reports.reduce((sum, r) => sum + r.chats, 0),
      complete: reports.reduce((sum, r) => sum + r.complete, 0),
      frames: reports.reduce((sum, r) => sum + r.frames, 0),
      deltas: reports.reduce((sum, r) => sum + r.deltas, 0),
      failures: reports.flatMap((r) => r.failures),
      histogram: [],
      cpuSeconds: reports.reduce((sum, r) => sum + r.cpuSeconds, 0),
    };
    const firsts = reports.flatMap((r) => r.firstDeltaMs ?? []);
    return { peer, name: NAMES[peer], clients, report, cpuSeconds: cpu, mainBusy, idleRssMb, peakRssMb, p50: gapPercentile(histogram, 0.5), p99: gapPercentile(histogram, 0.99), first50: nearestRank(firsts, 0.5), first99: nearestRank(firsts, 0.99) };
  } finally {
    clearTimeout(snapshot);
    for (const child of loads) if (child.exitCode === null) child.kill();
    if (server.exitCode === null) {
      // SIGTERM: sluice serve shuts down cleanly, so a --cpu-prof profile is written.
      server.kill('SIGTERM');
      await Promise.race([once(server, 'exit'), new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  }
}

export async function bench(): Promise<string> {
  const loadBefore = loadAverage();
  const out = mkdtempSync(join(tmpdir(), 'sluice-w5-'));
  // The stripped servers find the packages and the local model's knowledge base where the repository has them.
  for (const dir of ['node_modules', 'knowledge']) symlinkSync(join(ROOT, dir), join(out, dir));
  const rows: Row[] = [];
  let redis: RedisServer | undefined;
  try {
    const [direct, directAgent, aiSdk] = stripToJs(['./servers/w5-direct.ts', './servers/w5-direct-agent.ts', './servers/w5-ai-sdk.ts'], out);
    const scripts = { direct: direct!, directAgent: directAgent!, aiSdk: aiSdk! };
    if (PEERS.includes('redis') && REDIS_CLIENTS.length > 0) {
      if (!redisServerAvailable()) throw new Error('redis-server is not on PATH: install it for the Redis rows, or leave them out with W5_REDIS_CLIENTS=');
      redis = await startRedisServer();
    }
    // Runs alternate: every row of a C once, then again, so a change in the machine's load falls on
    // all rows alike, and each run's ratios compare rows measured minutes apart at most.
    for (let run = 1; run <= RUNS; run++) {
      for (const clients of CLIENTS) {
        for (const peer of ['direct', 'direct-agent', 'direct-agent-tools', 'ai-sdk', 'api-chat', 'api-chat-4', 'v1-chat'] as const) {
          if (PEERS.includes(peer)) rows.push({ ...(await measure(peer, clients, scripts, undefined)), run });
        }
      }
      if (redis !== undefined) for (const clients of REDIS_CLIENTS) rows.push({ ...(await measure('redis', clients, scripts, redis)), run });
    }
  } finally {
    await redis?.close();
    rmSync(out, { recursive: true, force: true });
  }
  const lines = [
    `### W5: C concurrent agent chats, ${DELTAS} deltas each at ${TPS} tokens/s (padding ${PADDING})`,
    '',
    `${RUNS > 1 ? `${RUNS} runs, alternating (every row of a run, then the next run); each cell is the median of the runs, each ratio the median of the runs' own ratios, listed in brackets. ` : ''}Each server is a fresh process${WARMUP ? ', warmed up with one whole chat before the window (idle RSS is read after it)' : ''}; two load generators on raw sockets open the C chats over ${RAMP_MS / 1000} s (HTTP/1.0 POSTs of the same question). CPU/frame = server CPU (user + system, /proc/<pid>/stat over the run) / SSE frames received; first delta = from opening a chat's connection to its first delta (the model's own first token is due after ${TTFT_MS} ms); delta gap = time between consecutive deltas of one chat at the client (the token interval is ${(1000 / TPS).toFixed(0)} ms); main thread busy = the server's main thread's CPU (its JavaScript and the system calls it makes, GC helper threads not included) over the wall time of the same window: at 100 % it cannot keep the token interval, and the gaps grow; KB/chat = (peak RSS − idle RSS) / C. Load average (1 min): ${loadBefore} before, ${loadAverage()} after, on ${availableParallelism()} CPUs shared with other work.`,
    '',
    '| C | server | complete | frames | server CPU s | main thread busy | µs/frame | × direct | × AI SDK | first delta p50 / p99 ms | gap p50 ms | gap p99 ms | peak RSS MB | idle RSS MB | KB/chat | load-gen CPU s |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const perFrame = (row: Row): number => (row.cpuSeconds * 1e6) / row.report.frames;
  const kbPerChat = (row: Row): number => ((row.peakRssMb - row.idleRssMb) * 1024) / row.clients;
  // One line per server and C: with W5_RUNS > 1, the median of its runs in each column, and each
  // ratio the median of the runs' own ratios (each run's rows measured side by side).
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.clients} ${row.peer}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  const ratio = (row: Row, peer: PeerId): number | undefined => {
    const other = rows.find((r) => r.peer === peer && r.clients === row.clients && r.run === row.run);
    return other === undefined ? undefined : perFrame(row) / perFrame(other);
  };
  const ratios = (group: Row[], peer: PeerId): number[] => group.flatMap((row) => ratio(row, peer) ?? []);
  const shown = (values: number[]): string => (values.length === 0 ? '—' : `${median(values).toFixed(2)}×`);
  const perRun = (values: number[]): string => (values.length < 2 ? '' : ` (${values.map((v) => v.toFixed(2)).join(', ')})`);
  for (const group of groups.values()) {
    const row = group[0]!;
    const of = (value: (r: Row) => number, digits = 1): string => median(group.map(value)).toFixed(digits);
    const complete = group.reduce((sum, r) => sum + r.report.complete, 0);
    const frames = median(group.map((r) => r.report.frames));
    const direct = ratios(group, 'direct');
    lines.push(
      `| ${row.clients.toLocaleString('en')} | ${row.name} | ${complete} / ${row.clients * group.length} | ${frames.toLocaleString('en')} | ${of((r) => r.cpuSeconds, 2)} | ${of((r) => r.mainBusy * 100, 0)} % | ${of(perFrame)} | ${shown(direct)}${row.peer === 'direct' ? '' : perRun(direct)} | ${shown(ratios(group, 'ai-sdk'))} | ${of((r) => r.first50, 0)} / ${of((r) => r.first99, 0)} | ${of((r) => r.p50)} | ${of((r) => r.p99)} | ${of((r) => r.peakRssMb)} | ${of((r) => r.idleRssMb)} | ${of(kbPerChat)} | ${of((r) => r.report.cpuSeconds, 2)} |`,
    );
  }
  for (const group of groups.values()) {
    const redisVsMemory = group[0]!.peer === 'redis' ? ratios(group, 'api-chat') : [];
    if (redisVsMemory.length > 0) {
      lines.push('', `Redis ÷ memory store, CPU per frame at C = ${group[0]!.clients.toLocaleString('en')}: ${shown(redisVsMemory)}${perRun(redisVsMemory)}.`);
    }
  }
  for (const row of rows.filter((r) => r.report.complete !== r.clients)) {
    lines.push('', `**Incomplete:** ${row.name} at C = ${row.clients}${RUNS > 1 ? ` (run ${String(row.run)})` : ""}: ${row.clients - row.report.complete} chats, e.g. ${JSON.stringify(row.report.failures.slice(0, 3))}.`);
  }
  return lines.join('\n');
}
