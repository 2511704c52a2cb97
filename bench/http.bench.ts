/**
 * HTTP streaming throughput: one stream of N small SSE events (and N small text chunks) through
 * each server, read by the same client, in the same run.
 *
 * Method: every server is a script started with `PORT` in its own process, serving
 * `GET /sse?n=N&size=S&interval=MS` and `GET /text?n=N&size=S`. The client (this process) reads the
 * whole body with `node:http`, counts bytes and event terminators (so the work cannot be skipped),
 * and checks the count. Server CPU is read from /proc/<pid>/stat (user + system) around the runs:
 * µs of server CPU per event = CPU time / events. Each configuration runs ROUNDS times after one
 * warm-up round; throughput is the median round, CPU the total over all rounds.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { freePort, cpuSeconds } from './process-helpers.ts';

const N = 200_000;
const SIZE = 16;
const ROUNDS = 5;

interface Peer {
  name: string;
  script: string;
  /** The kinds of stream it serves. */
  kinds: ('sse' | 'text')[];
}

const PEERS: Peer[] = [
  { name: 'sluice (Node path)', script: 'servers/sluice-node.ts', kinds: ['sse', 'text'] },
  { name: 'sluice (Web path, in Hono)', script: 'servers/sluice-web-hono.ts', kinds: ['sse', 'text'] },
  { name: 'plain node:http loop', script: 'servers/node-loop.ts', kinds: ['sse', 'text'] },
  { name: 'hono streamSSE / stream', script: 'servers/hono.ts', kinds: ['sse', 'text'] },
  { name: 'better-sse', script: 'servers/better-sse.ts', kinds: ['sse'] },
];


async function start(peer: Peer): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL(peer.script, import.meta.url))], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout!, 'data');
  return { child, base: `http://127.0.0.1:${port}` };
}


function read(url: string, separator: number | undefined): Promise<{ bytes: number; events: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let bytes = 0;
    let events = 0;
    let previous = 0;
    const req = request(url, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (separator !== undefined) {
          // Count "\n\n" terminators, also across chunk boundaries.
          if (previous === separator && chunk[0] === separator) events++;
          let at = chunk.indexOf('\n\n');
          while (at !== -1) {
            events++;
            at = chunk.indexOf('\n\n', at + 2);
          }
          previous = chunk[chunk.length - 1]!;
        }
      });
      res.on('end', () => resolve({ bytes, events, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Row {
  name: string;
  kind: string;
  eventsPerSecond: number;
  mbPerSecond: number;
  cpuPerEvent: number;
}

async function measure(peer: Peer, kind: 'sse' | 'text'): Promise<Row> {
  const { child, base } = await start(peer);
  try {
    const url = `${base}/${kind}?n=${N}&size=${SIZE}&interval=0`;
    await read(url, kind === 'sse' ? 10 : undefined);
    const cpuBefore = cpuSeconds(child.pid!);
    const rounds: { bytes: number; events: number; ms: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const round = await read(url, kind === 'sse' ? 10 : undefined);
      if (kind === 'sse' && round.events !== N) throw new Error(`${peer.name}: expected ${N} events, got ${round.events}`);
      rounds.push(round);
    }
    const cpu = (cpuSeconds(child.pid!) - cpuBefore) * 1e6; // µs
    rounds.sort((a, b) => a.ms - b.ms);
    const median = rounds[Math.floor(ROUNDS / 2)]!;
    return {
      name: peer.name,
      kind,
      eventsPerSecond: (N / median.ms) * 1000,
      mbPerSecond: median.bytes / 1024 / 1024 / (median.ms / 1000),
      cpuPerEvent: cpu / (N * ROUNDS),
    };
  } finally {
    child.kill();
  }
}

export async function bench(): Promise<string> {
  const rows: Row[] = [];
  for (const kind of ['sse', 'text'] as const) {
    for (const peer of PEERS) if (peer.kinds.includes(kind)) rows.push(await measure(peer, kind));
  }
  const lines = [
    `### HTTP streaming: ${N.toLocaleString('en')} events of ${SIZE} bytes, one stream`,
    '',
    `Each server is its own process (bench/servers/); the same client reads every stream; median of ${ROUNDS} rounds; server CPU from /proc.`,
    '',
    '| stream | server | events/s | MB/s | server CPU µs/event | vs plain loop |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const plain = rows.find((r) => r.kind === row.kind && r.name === 'plain node:http loop')!;
    lines.push(
      `| ${row.kind} | ${row.name} | ${Math.round(row.eventsPerSecond).toLocaleString('en')} | ${row.mbPerSecond.toFixed(1)} | ${row.cpuPerEvent.toFixed(2)} | ${(row.eventsPerSecond / plain.eventsPerSecond).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}
