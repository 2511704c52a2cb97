/**
 * Many slow streams: C concurrent SSE clients, each receiving a small token every 20 ms (an AI
 * chat's real shape), served by sluice's Node path and by a plain `node:http` loop.
 *
 * Method: each server (bench/servers/slow-*.ts) is its own process, a fresh one per run, started
 * with a raised open-file limit; both run the same token generator (bench/servers/slow-tokens.ts).
 * Two load-generator processes (bench/slow-streams-client.ts, raw `net` sockets, no HTTP parser)
 * open the C clients over the first two seconds, count the events of every client (each must get all
 * N) and record each event's lateness at the client: arrival minus due time (request sent +
 * (k + 1) × 20 ms). Server CPU (user + system) is read from /proc/<pid>/stat just before the
 * first client and after the last one; peak RSS is VmHWM from /proc/<pid>/status at the end,
 * idle RSS is VmRSS before the first client. Runs one after another, plain loop first. The
 * servers run as JavaScript (their import graphs type-stripped into a temporary directory first),
 * as a user's build would: Node's own type stripping costs some 18 MB of RSS in the process that
 * loads a `.ts` file, which would blur the comparison. A client whose stream has not ended 15 s
 * after its last event was due is cut and reported: the run stays bounded (under a minute per
 * server and C) on a saturated machine.
 *
 * `SLOW_CLIENTS=200,500 SLOW_N=200 npm run bench -- slow-streams` runs other sizes;
 * `SLOW_BASELINE=<dir>` adds a third server, sluice's Node path from another checkout of this
 * repository (e.g. `git archive main src bench | tar -x -C <dir>`), to measure a change before
 * and after in the same run; bench/slow-streams-profile.ts profiles one server under the same load.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUCKET_MS, GRACE_MS, type ClientReport } from './slow-streams-shared.ts';
import { cpuSeconds, freePort, loadAverage, median, statusMb } from './process-helpers.ts';

// SLOW_CLIENTS=1000,5000, SLOW_N=500 and SLOW_ROUNDS=3 override the client counts, the events per
// client and how many times each server runs at each C.
const CLIENTS = (process.env.SLOW_CLIENTS ?? '1000,5000').split(',').map(Number);
const N = Number(process.env.SLOW_N ?? 500);
const ROUNDS = Math.max(1, Number(process.env.SLOW_ROUNDS ?? 3));
const INTERVAL_MS = 20;
const RAMP_MS = 2000;
const LOAD_GENERATORS = 2;

interface Peer {
  name: string;
  script: string;
}

const PLAIN: Peer = { name: 'plain node:http loop', script: './servers/slow-plain.ts' };
const SLUICE: Peer = { name: 'sluice (Node path)', script: './servers/slow-sluice.ts' };
const BASELINE_DIR = process.env.SLOW_BASELINE;
const BASELINE: Peer | undefined =
  BASELINE_DIR === undefined || BASELINE_DIR === '' ? undefined : { name: `sluice, baseline (${BASELINE_DIR})`, script: join(resolve(BASELINE_DIR), 'bench/servers/slow-sluice.ts') };
const CLIENT = fileURLToPath(new URL('slow-streams-client.ts', import.meta.url));

interface Run {
  clients: number;
  peer: Peer;
  complete: number;
  events: number;
  failures: [number, number, string][];
  cpuSeconds: number;
  idleRssMb: number;
  peakRssMb: number;
  p50: number;
  p99: number;
  loadCpuSeconds: number;
}


const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*)'(\.{1,2}\/[^']+)\.ts'/g;

/**
 * Writes `entries` and every file they import (relative imports only) as type-stripped `.js`
 * under `out`, at the same paths relative to the repository root.
 * @returns the paths of the entries' `.js` files
 */
export function stripToJs(entries: string[], out: string, root = ROOT): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, code.replace(RELATIVE_IMPORT, (_, keyword: string, path: string) => `${keyword}'${path}.js'`));
    for (const match of code.matchAll(RELATIVE_IMPORT)) visit(resolve(dirname(file), `${match[2]!}.ts`));
  };
  return entries.map((entry) => {
    const file = fileURLToPath(new URL(entry, import.meta.url));
    visit(file);
    return join(out, relative(root, file)).replace(/\.ts$/, '.js');
  });
}

/** Starts `node <script> ...args` with the open-file limit raised (thousands of sockets). */
function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const raise = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  return spawn('bash', ['-c', raise, 'bash', process.execPath, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}


async function readReport(child: ChildProcess): Promise<ClientReport> {
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`load generator exited with ${String(code)}`);
  return JSON.parse(out) as ClientReport;
}

function percentile(histogram: Map<number, number>, total: number, p: number): number {
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket)!;
    if (seen >= rank) return (bucket + 1) * BUCKET_MS;
  }
  return Number.NaN;
}

async function measure(peer: Peer, script: string, clients: number): Promise<Run> {
  const port = await freePort();
  const server = spawnNode(script, [], { PORT: String(port) });
  const loads: ChildProcess[] = [];
  try {
    await once(server.stdout!, 'data');
    const pid = server.pid!;
    const idleRssMb = statusMb(pid, 'VmRSS');
    const cpuBefore = cpuSeconds(pid);
    const startAt = Date.now() + 200;
    for (let k = 0; k < LOAD_GENERATORS; k++) {
      const args = [port, k, LOAD_GENERATORS, clients, N, INTERVAL_MS, RAMP_MS, startAt].map(String);
      loads.push(spawnNode(CLIENT, args, {}));
    }
    const reports = await Promise.all(loads.map(readReport));
    const cpu = cpuSeconds(pid) - cpuBefore;
    const peakRssMb = statusMb(pid, 'VmHWM');
    const histogram = new Map<number, number>();
    let recorded = 0;
    for (const report of reports) {
      for (const [bucket, count] of report.histogram) {
        histogram.set(bucket, (histogram.get(bucket) ?? 0) + count);
        recorded += count;
      }
    }
    return {
      clients,
      peer,
      complete: reports.reduce((sum, r) => sum + r.complete, 0),
      events: reports.reduce((sum, r) => sum + r.events, 0),
      failures: reports.flatMap((r) => r.failures),
      cpuSeconds: cpu,
      idleRssMb,
      peakRssMb,
      p50: percentile(histogram, recorded, 0.5),
      p99: percentile(histogram, recorded, 0.99),
      loadCpuSeconds: reports.reduce((sum, r) => sum + r.cpuSeconds, 0),
    };
  } finally {
    for (const child of [server, ...loads]) if (child.exitCode === null) child.kill();
  }
}

const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

const fixed = (value: number): string => value.toFixed(2);

export async function bench(): Promise<string> {
  const loadBefore = loadAverage();
  const out = mkdtempSync(join(tmpdir(), 'sluice-slow-streams-'));
  const runs: Run[] = [];
  try {
    const [plainJs, sluiceJs] = stripToJs([PLAIN.script, SLUICE.script], out);
    const servers: [Peer, string][] = [
      [PLAIN, plainJs!],
      [SLUICE, sluiceJs!],
    ];
    if (BASELINE !== undefined) {
      const baselineRoot = resolve(BASELINE_DIR!);
      servers.push([BASELINE, stripToJs([pathToFileURL(BASELINE.script).href], join(out, 'baseline'), baselineRoot)[0]!]);
    }
    for (const clients of CLIENTS) {
      // Rounds rotate the order of the servers (with two, they alternate), so that a change in
      // the machine's load over the run hits all alike and each server goes first in turn.
      for (let round = 0; round < ROUNDS; round++) {
        const shift = round % servers.length;
        const order = [...servers.slice(shift), ...servers.slice(0, shift)];
        for (const [peer, script] of order) runs.push(await measure(peer, script, clients));
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const lines = [
    `### Many slow streams: C clients, each ${N} SSE events of 16 bytes, one every ${INTERVAL_MS} ms`,
    '',
    `Each server is a fresh process (bench/servers/slow-*.ts) running the same token generator, ${ROUNDS} times at each C, rotating which server goes first; two load-generator processes on raw sockets open the C clients over ${RAMP_MS / 1000} s and check every client got all ${N} events (a client is cut ${GRACE_MS / 1000} s after its last event was due). Server CPU from /proc/<pid>/stat over the run (µs/event: per event delivered), peak RSS = VmHWM, idle RSS = VmRSS before the first client, KB/client = (peak − idle) / C; lateness = arrival at the client minus due time. Load average (1 min) of this machine: ${loadBefore} before, ${loadAverage()} after, on ${availableParallelism()} CPUs: a saturated machine delays events (lateness of seconds) and inflates CPU times.`,
    '',
    '| C | server | clients with all events | server CPU s | µs/event | peak RSS MB | idle RSS MB | KB/client | lateness p50 ms | p99 ms | load-gen CPU s |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const run of runs) {
    const perClientKb = ((run.peakRssMb - run.idleRssMb) * 1024) / run.clients;
    lines.push(
      `| ${run.clients.toLocaleString('en')} | ${run.peer.name} | ${run.complete.toLocaleString('en')} / ${run.clients.toLocaleString('en')} | ${run.cpuSeconds.toFixed(2)} | ${((run.cpuSeconds * 1e6) / run.events).toFixed(2)} | ${run.peakRssMb.toFixed(1)} | ${run.idleRssMb.toFixed(1)} | ${perClientKb.toFixed(1)} | ${run.p50.toFixed(1)} | ${run.p99.toFixed(1)} | ${run.loadCpuSeconds.toFixed(2)} |`,
    );
  }
  lines.push(
    '',
    `Ratios, sluice / plain: the median of ${ROUNDS} runs of each server, and the range of the ${ROUNDS} rounds' own ratios.`,
    '',
    `| C |${BASELINE === undefined ? '' : ' server |'} server CPU | CPU per event | peak RSS | lateness p50 | p99 | all events delivered |`,
    `| ---: |${BASELINE === undefined ? '' : ' --- |'} ---: | ---: | ---: | ---: | ---: | --- |`,
  );
  for (const clients of CLIENTS) {
    const plain = runs.filter((r) => r.clients === clients && r.peer === PLAIN);
    for (const peer of BASELINE === undefined ? [SLUICE] : [SLUICE, BASELINE]) {
      const sluice = runs.filter((r) => r.clients === clients && r.peer === peer);
      const column = (metric: (run: Run) => number): string => {
        const rounds = sluice.map((run, i) => metric(run) / metric(plain[i]!));
        const range = rounds.length > 1 ? ` (${fixed(Math.min(...rounds))}–${fixed(Math.max(...rounds))})` : '';
        return `${ratio(median(sluice.map(metric)), median(plain.map(metric)))}${range}`;
      };
      const complete = [...plain, ...sluice].every((run) => run.complete === clients);
      lines.push(
        `| ${clients.toLocaleString('en')} |${BASELINE === undefined ? '' : ` ${peer.name} |`} ${column((r) => r.cpuSeconds)} | ${column((r) => r.cpuSeconds / r.events)} | ${column((r) => r.peakRssMb)} | ${column((r) => r.p50)} | ${column((r) => r.p99)} | ${complete ? 'yes' : '**no**: ratios not comparable'} |`,
      );
    }
  }
  const failed = runs.filter((run) => run.complete !== run.clients);
  for (const run of failed) {
    lines.push('', `**Incomplete:** ${run.peer.name} at C = ${run.clients}: ${run.clients - run.complete} clients without all ${N} events, e.g. ${JSON.stringify(run.failures.slice(0, 3))}.`);
  }
  return lines.join('\n');
}
