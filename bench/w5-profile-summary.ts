/**
 * Summarizes a `--cpu-prof` profile or a heap snapshot of `sluice serve` taken under the W5 bench
 * (not part of `npm run bench`): self time by function and by file, as shares of the non-idle
 * samples; or the heap's self size by constructor, per chat.
 *
 * Run: W5_PEERS=api-chat W5_CLIENTS=300 W5_REDIS_CLIENTS= W5_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/w5prof" npm run bench -- w5
 *      node bench/w5-profile-summary.ts /tmp/w5prof/<file>.cpuprofile [rows=30]
 *      W5_PEERS=api-chat W5_CLIENTS=1000 W5_REDIS_CLIENTS= W5_HEAP_SNAPSHOT=1 W5_NODE_ARGS="--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/w5heap" npm run bench -- w5
 *      node bench/w5-profile-summary.ts /tmp/w5heap/<file>.heapsnapshot [rows=30] [chats=1000]
 *      node bench/w5-profile-summary.ts <direct>.cpuprofile --against <sluice>.cpuprofile [rows=30]
 *
 * `--against` compares two profiles over their chats (the 9 s before each one's last socket write,
 * which leaves out start-up and the warm-up chat): samples per file in each and the difference,
 * and each profile's samples by what the event loop was doing (the paced producers' timers, the
 * shared flush of the writes, I/O). `W5_NODE_ARGS` applies to every row's server, so
 * `W5_PEERS=direct` gives the direct path's profile.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
}

const args = process.argv.slice(2);
// `<a> --against <b> [rows]`: the second profile sits where the other modes read their counts.
const against = args[1] === '--against' ? args.splice(1, 2)[1] : undefined;
const [file, rowsArg = '30', chatsArg = '1000'] = args;

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function cpu(): void {
const profile = JSON.parse(readFileSync(file!, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const hits = new Map<number, number>();
for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
const self = new Map<string, number>();
const files = new Map<string, number>();
let total = 0;
for (const [id, count] of hits) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)' || functionName === '(program)') continue;
  total += count;
  const short = url.replace(/^.*\/(dist|src|node_modules)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + count);
  const where = short === '' ? functionName : short;
  files.set(where, (files.get(where) ?? 0) + count);
}
const top = (map: Map<string, number>): string[] =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(rowsArg))
    .map(([key, count]) => `${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`);
console.log(`non-idle samples: ${total}\n\nself time by function:\n${top(self).join('\n')}\n\nself time by file:\n${top(files).join('\n')}`);
}

/** Self size of the heap's nodes by type and constructor: total, per chat, count per chat. */
function heap(): void {
  const snapshot = JSON.parse(readFileSync(file!, 'utf8')) as HeapSnapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const chats = Number(chatsArg);
  const out = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += stride) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    let name = type === 'object' || type === 'closure' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : `(${type})`;
    if (type === 'closure') name = `closure ${name || '(anonymous)'}`;
    const entry = out.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    total += snapshot.nodes[i + sizeAt]!;
    out.set(name, entry);
  }
  console.log(`heap: ${(total / 1048576).toFixed(1)} MB, ${(total / 1024 / chats).toFixed(1)} KB per chat (${chats} chats)\n`);
  for (const [name, { count, bytes }] of [...out].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(rowsArg))) {
    console.log(`${(bytes / 1024 / chats).toFixed(2).padStart(8)} KB/chat ${(count / chats).toFixed(1).padStart(8)} /chat  ${name}`);
  }
}

/** The chats' window of a W5 profile: the 9 s before its last socket write. */
const WINDOW_US = 9_000_000;

interface TimedProfile extends CpuProfile {
  startTime: number;
  timeDeltas: number[];
}

/** Samples in the chats' window by file, and by the macrotask the event loop was running. */
function windowed(path: string): { files: Map<string, number>; phases: Map<string, number>; total: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as TimedProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  let at = profile.startTime;
  const times = profile.timeDeltas.map((delta) => (at += delta));
  let last = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === 'writeUtf8String') last = Math.max(last, times[i]!);
  });
  const files = new Map<string, number>();
  const phases = new Map<string, number>();
  let total = 0;
  const phaseOf = (id: number): string => {
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const name = byId.get(up)!.callFrame.functionName;
      if (name === 'processTimers') return 'timers (the paced producers and what they wake)';
      if (name === 'processImmediate') return 'immediates (the engines\' shared flush: the socket writes)';
    }
    return 'I/O and the rest';
  };
  profile.samples.forEach((id, i) => {
    if (times[i]! < last - WINDOW_US || times[i]! > last) return;
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    total++;
    // The same module is dist/… in sluice serve and src/… in the type-stripped direct server.
    const where = url === '' ? functionName : url.replace(/^.*\/(dist|src|node_modules)\//, '$1/').replace(/^src\//, 'dist/');
    files.set(where, (files.get(where) ?? 0) + 1);
    const phase = phaseOf(id);
    phases.set(phase, (phases.get(phase) ?? 0) + 1);
  });
  return { files, phases, total };
}

function compare(against: string): void {
  const a = windowed(file!);
  const b = windowed(against);
  console.log(`samples in the chats' window: ${a.total} (${file}) and ${b.total} (${against})\n`);
  console.log('by what the event loop ran:');
  for (const phase of new Set([...a.phases.keys(), ...b.phases.keys()])) {
    console.log(`${String(a.phases.get(phase) ?? 0).padStart(7)} ${String(b.phases.get(phase) ?? 0).padStart(7)}  ${phase}`);
  }
  console.log('\nby file, largest difference first:');
  const rows = [...new Set([...a.files.keys(), ...b.files.keys()])].map((key) => [key, a.files.get(key) ?? 0, b.files.get(key) ?? 0] as const);
  rows.sort((x, y) => y[2] - y[1] - (x[2] - x[1]));
  for (const [key, inA, inB] of rows.slice(0, Number(rowsArg))) {
    console.log(`${String(inA).padStart(7)} ${String(inB).padStart(7)} ${String(inB - inA).padStart(7)}  ${key}`);
  }
}

if (against !== undefined) compare(against);
else if (file!.endsWith('.heapsnapshot')) heap();
else cpu();
