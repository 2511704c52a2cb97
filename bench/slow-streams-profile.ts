/**
 * Profiles one server of the slow-streams bench under load, to see where its CPU and memory go.
 * Not part of `npm run bench`.
 *
 * Run: node bench/slow-streams-profile.ts [cpu|heap|count] [sluice|plain] [clients=1000] [n=500]
 *
 * Starts the server (type-stripped to JavaScript, as in the bench), puts C slow clients on it
 * (each `n` events, one every 20 ms) and then:
 * - `cpu`: runs it under `--cpu-prof` and prints the top self-time functions, and the share of
 *   samples under each of sluice's and the bench's functions (self + callees);
 * - `heap`: once every client is connected, collects garbage and takes a heap snapshot (and one
 *   before the first client), and prints the heap in use per client and the heap's objects per
 *   client by constructor (mid-run minus idle).
 * - `count`: counts the async resources the server creates (async_hooks `init`: promises,
 *   timers, immediates, write requests, …) per event and per client.
 * The profile and snapshots stay in the printed directory (open them in Chrome DevTools).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripToJs } from './slow-streams.bench.ts';
import { freePort } from './process-helpers.ts';

const [mode = 'cpu', which = 'sluice', clientsArg = '1000', nArg = '500'] = process.argv.slice(2);
const clients = Number(clientsArg);
const n = Number(nArg);
const INTERVAL_MS = 20;
const RAMP_MS = 2000;

interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}


/** Self time per function: share of all non-idle samples, and µs per event delivered. */
function topSelf(profile: CpuProfile, count: number, events: number): string[] {
  const microsPerSample = (profile.endTime - profile.startTime) / profile.samples.length;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  for (const id of profile.samples) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    const file = frame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/').replace(/^node:/, 'node:');
    const key = `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    total++;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, samples]) => `${((samples / total) * 100).toFixed(1).padStart(5)}% ${((samples * microsPerSample) / events).toFixed(2).padStart(6)} µs  ${key}`)
    .concat(`100.0% ${((total * microsPerSample) / events).toFixed(2).padStart(6)} µs  (all non-idle samples)`);
}

/** Total time (self + callees) of the functions in src/ and bench/, as a share of non-idle samples. */
function topTotal(profile: CpuProfile, count: number, events: number): string[] {
  const microsPerSample = (profile.endTime - profile.startTime) / profile.samples.length;
  const parent = new Map<number, number>();
  for (const node of profile.nodes as (CpuProfile['nodes'][number] & { children?: number[] })[]) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const total = new Map<string, number>();
  let samples = 0;
  for (const id of profile.samples) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    samples++;
    const keys = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const match = /\/((?:src|bench)\/.*)$/.exec(frame.url);
      if (match !== null) keys.add(`${frame.functionName || '(anonymous)'} ${match[1]!}:${frame.lineNumber + 1}`);
    }
    for (const key of keys) total.set(key, (total.get(key) ?? 0) + 1);
  }
  return [...total.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, hits]) => `${((hits / samples) * 100).toFixed(1).padStart(5)}% ${((hits * microsPerSample) / events).toFixed(2).padStart(6)} µs  ${key}`);
}

/** Count and self size of the heap's nodes, by type and constructor name. */
function heapByConstructor(snapshot: HeapSnapshot): Map<string, { count: number; bytes: number }> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += stride) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    let name = type === 'object' || type === 'closure' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : `(${type})`;
    if (type === 'closure') name = `closure ${name || '(anonymous)'}`;
    const entry = out.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    out.set(name, entry);
  }
  return out;
}

const script = which === 'plain' ? './servers/slow-plain.ts' : './servers/slow-sluice.ts';
const dir = mkdtempSync(join(tmpdir(), `sluice-profile-${which}-`));
const [js] = stripToJs([script], dir);
// Exits cleanly on SIGTERM (so --cpu-prof writes its file); on SIGUSR1 prints the open TCP
// sockets; on SIGUSR2 collects garbage, prints the heap in use and writes a heap snapshot.
const preload = join(dir, 'preload.mjs');
writeFileSync(
  preload,
  `import { writeHeapSnapshot } from 'node:v8';
import { createHook } from 'node:async_hooks';
const counts = {};
if (process.env.SLOW_COUNT === '1') createHook({ init(id, type) { counts[type] = (counts[type] ?? 0) + 1; } }).enable();
process.on('SIGTERM', () => {
  if (process.env.SLOW_COUNT === '1') console.log(JSON.stringify({ counts }));
  process.exit(0);
});
process.on('SIGUSR1', () => {
  const sockets = process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
  console.log(JSON.stringify({ sockets }));
});
let snapshots = 0;
process.on('SIGUSR2', () => {
  const { rss, heapTotal } = process.memoryUsage();
  globalThis.gc(); globalThis.gc();
  const { heapUsed, external } = process.memoryUsage();
  console.log(JSON.stringify({ heapUsed, rss, heapTotal, external }));
  writeHeapSnapshot(${JSON.stringify(dir)} + '/' + (snapshots++ === 0 ? 'idle' : 'mid') + '.heapsnapshot');
  console.log('snapshot');
});
`,
);

const port = await freePort();
const raise = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
const flags = mode === 'heap' ? ['--expose-gc'] : mode === 'cpu' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
const server = spawn('bash', ['-c', raise, 'bash', process.execPath, ...flags, `--import=${preload}`, js!], {
  env: { ...process.env, PORT: String(port), SLOW_COUNT: mode === 'count' ? '1' : '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const lines: string[] = [];
server.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
await once(server.stdout, 'data');

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let lastAnswer: Record<string, number> = {};
async function ask(signal: 'SIGUSR1' | 'SIGUSR2', key: string): Promise<number> {
  lines.length = 0;
  server.kill(signal);
  for (let i = 0; i < 600; i++) {
    const line = lines.find((l) => l.startsWith('{') && l.includes(key));
    if (line !== undefined && (signal === 'SIGUSR1' || lines.includes('snapshot'))) {
      lastAnswer = JSON.parse(line) as Record<string, number>;
      return lastAnswer[key]!;
    }
    await delay(100);
  }
  throw new Error('the server did not answer in 60 s');
}

const idleHeap = mode === 'heap' ? await ask('SIGUSR2', 'heapUsed') : 0;
const startAt = Date.now() + 200;
const client = fileURLToPath(new URL('slow-streams-client.ts', import.meta.url));
const loads = [0, 1].map((k) =>
  spawn('bash', ['-c', raise, 'bash', process.execPath, client, ...[port, k, 2, clients, n, INTERVAL_MS, RAMP_MS, startAt].map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
const reports = loads.map(async (load) => {
  let out = '';
  load.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(load, 'exit');
  return JSON.parse(out) as { complete: number; events: number; failures: [number, number, string][] };
});

let midHeap = 0;
let sockets = 0;
if (mode === 'heap') {
  // Every client connected, every stream running.
  await delay(200 + RAMP_MS);
  for (let i = 0; i < 100 && (sockets = await ask('SIGUSR1', 'sockets')) < clients; i++) await delay(100);
  midHeap = await ask('SIGUSR2', 'heapUsed');
}
const mid = lastAnswer;
const done = await Promise.all(reports);
const complete = done.reduce((sum, report) => sum + report.complete, 0);
const failures = done.flatMap((report) => report.failures).slice(0, 3);
const events = done.reduce((sum, report) => sum + report.events, 0);
lines.length = 0;
server.kill('SIGTERM');
await once(server, 'exit');
console.log(`${which}: ${clients} clients × ${n} events every ${INTERVAL_MS} ms, ${complete} clients got all${failures.length > 0 ? ` (failures: ${JSON.stringify(failures)})` : ''}; files in ${dir}\n`);

if (mode === 'heap') {
  const readHeap = (name: string): Map<string, { count: number; bytes: number }> =>
    heapByConstructor(JSON.parse(readFileSync(join(dir, `${name}.heapsnapshot`), 'utf8')) as HeapSnapshot);
  const before = readHeap('idle');
  const heap = readHeap('mid');
  for (const [name, entry] of heap) {
    const base = before.get(name) ?? { count: 0, bytes: 0 };
    heap.set(name, { count: entry.count - base.count, bytes: entry.bytes - base.bytes });
  }
  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  console.log(`heap in use after GC with ${sockets} sockets open: idle ${mb(idleHeap)} MB, mid-run ${mb(midHeap)} MB: ${((midHeap - idleHeap) / clients).toFixed(0)} bytes per client`);
  console.log(`mid-run before GC: RSS ${mb(mid.rss!)} MB, V8 heap reserved ${mb(mid.heapTotal!)} MB; external after GC ${mb(mid.external!)} MB\n`);
  console.log('heap objects per client, mid-run minus idle (count, bytes), top 40 by bytes:');
  for (const [name, { count, bytes }] of [...heap.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 40)) {
    console.log(`${(count / clients).toFixed(2).padStart(8)} ${(bytes / clients).toFixed(0).padStart(7)} B  ${name}`);
  }
} else if (mode === 'count') {
  const { counts } = JSON.parse(lines.find((line) => line.startsWith('{"counts"'))!) as { counts: Record<string, number> };
  console.log(`async resources created (async_hooks init), per event delivered (${events} events) and per client:`);
  for (const [type, count] of Object.entries(counts).sort((a, b) => b[1] - a[1])) {
    console.log(`${(count / events).toFixed(3).padStart(8)} ${(count / clients).toFixed(1).padStart(8)}  ${type}`);
  }
} else {
  const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((file) => file.endsWith('.cpuprofile'))!), 'utf8')) as CpuProfile;
  console.log(`CPU self time, top 40 (share of non-idle samples and sampled µs per event delivered, whole run; ${events} events):`);
  for (const line of topSelf(profile, 40, events)) console.log(line);
  console.log('\nCPU total time (self + callees) of the functions in src/ and bench/, top 25:');
  for (const line of topTotal(profile, 25, events)) console.log(line);
}
