/**
 * SSE parser throughput: sluice's `createParser` against `eventsource-parser` (v4), in the same run.
 *
 * Method. Each workload is a fixed byte stream cut into reads of pseudo-random sizes (a seeded
 * generator, so every run sees the same cuts). Both parsers get bytes, as from `fetch`: sluice's
 * parser takes them as they are; eventsource-parser takes text, so each read goes through one
 * `TextDecoder` with `{ stream: true }`, which is what its `EventSourceParserStream` does behind a
 * `TextDecoderStream`. A second table feeds both the same pre-decoded text. Every iteration creates
 * a fresh parser and consumes every event into a count and a checksum (data length plus id
 * length), which must match between the two parsers (this defeats dead-code elimination and checks
 * they agree). Each parser is warmed up, then measured in several samples, the two parsers
 * alternating within each sample (and which goes first alternating between samples) so that
 * machine load hits both alike; a sample runs for at least SAMPLE_MS of the main thread's CPU time
 * (`process.threadCpuUsage()`, where it exists, else wall time): on a shared machine, time spent
 * waiting for a core is not counted against either parser. `global.gc()` runs between samples when
 * Node was started with `--expose-gc`. The table gives the median sample in MB/s of input bytes,
 * and the median of the per-sample ratios (each ratio pairs two samples taken back to back).
 *
 * Workloads: (a) an LLM-shaped stream: 50,000 `event: text-delta` / `id: n` / `data: {json}`
 * events (sluice's wire format) in reads of 1–4 KB, once with English deltas (ASCII, so V8 keeps
 * one-byte strings) and once with Chinese ones (two-byte strings, slower to decode for both);
 * (b) large events: 16 events of 256 KB of data each, in reads of 64–1024 bytes.
 *
 * @module
 */
import { createParser as createEventSourceParser } from 'eventsource-parser';
import { createParser } from '../src/sse/parse.ts';

const SAMPLES = 15;
const SAMPLE_MS = 100;
const WARMUP_ITERATIONS = 5;

interface Workload {
  name: string;
  reads: Uint8Array[];
  texts: string[];
  bytes: number;
}

/** A seeded generator (mulberry32), so read sizes are the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function workload(name: string, text: string, minRead: number, maxRead: number): Workload {
  const bytes = new TextEncoder().encode(text);
  const next = random(42);
  const reads: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = minRead + Math.floor(next() * (maxRead - minRead + 1));
    reads.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  const decoder = new TextDecoder();
  const texts = reads.map((read) => decoder.decode(read, { stream: true }));
  return { name, reads, texts, bytes: bytes.length };
}

function llmStream(words: string[]): string {
  let text = 'retry: 3000\n\n';
  for (let id = 1; id <= 50_000; id++) {
    const delta = words[id % words.length] ?? '';
    text += `event: text-delta\nid: ${id}\ndata: {"type":"text-delta","id":"text-1","delta":${JSON.stringify(delta)}}\n\n`;
  }
  return text;
}

const ENGLISH = ['The', ' stream', 'ing', ' response', ' keeps', ' memory', ' bounded', ',', ' even', ' when', ' the', ' model', ' is', ' fast', '.', '\n'];
const CHINESE = ['流式', '响应', '让', '智能体', '的', '回答', '逐字', '出现', '，', '内存', '保持', '有界', '。', '\n'];

function largeEvents(): string {
  const payload = '{"type":"data","rows":"' + 'abcdefghij'.repeat(256 * 1024 / 10 - 4) + '"}';
  let text = '';
  for (let id = 1; id <= 16; id++) text += `event: data\nid: ${id}\ndata: ${payload}\n\n`;
  return text;
}

type Run = (workload: Workload) => number;

function runSluice(input: 'bytes' | 'text'): Run {
  return (work) => {
    let count = 0;
    let checksum = 0;
    const parser = createParser({
      onEvent: (event) => {
        count++;
        checksum += event.data.length + event.id.length;
      },
    });
    for (const read of input === 'bytes' ? work.reads : work.texts) parser.feed(read);
    parser.end();
    return count * 1e9 + checksum;
  };
}

function runEventSourceParser(input: 'bytes' | 'text'): Run {
  return (work) => {
    let count = 0;
    let checksum = 0;
    const parser = createEventSourceParser({
      onEvent: (event) => {
        count++;
        checksum += event.data.length + (event.id?.length ?? 0);
      },
    });
    if (input === 'bytes') {
      const decoder = new TextDecoder();
      for (const read of work.reads) parser.feed(decoder.decode(read, { stream: true }));
    } else {
      for (const text of work.texts) parser.feed(text);
    }
    parser.reset();
    return count * 1e9 + checksum;
  };
}

let sink = 0;

const threadCpuUsage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
/** Milliseconds of the main thread's CPU time, or wall time where that is not available. */
const now = (): number => {
  if (threadCpuUsage === undefined) return performance.now();
  const { user, system } = threadCpuUsage();
  return (user + system) / 1000;
};

function sample(run: Run, work: Workload): number {
  let iterations = 0;
  const start = now();
  let elapsed: number;
  do {
    sink += run(work);
    iterations++;
    elapsed = now() - start;
  } while (elapsed < SAMPLE_MS);
  return (work.bytes * iterations) / 1e6 / (elapsed / 1000);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

function compare(work: Workload, ours: Run, theirs: Run): { ours: number; theirs: number; ratio: number } {
  const expected = ours(work);
  if (theirs(work) !== expected) throw new Error(`The parsers disagree on ${work.name}: ${expected} vs ${theirs(work)}.`);
  for (let i = 0; i < WARMUP_ITERATIONS; i++) sink += ours(work) + theirs(work);
  const oursSamples: number[] = [];
  const theirsSamples: number[] = [];
  const ratios: number[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < SAMPLES; i++) {
    let a: number;
    let b: number;
    if (i % 2 === 0) {
      gc?.();
      a = sample(ours, work);
      gc?.();
      b = sample(theirs, work);
    } else {
      gc?.();
      b = sample(theirs, work);
      gc?.();
      a = sample(ours, work);
    }
    oursSamples.push(a);
    theirsSamples.push(b);
    ratios.push(a / b);
  }
  return { ours: median(oursSamples), theirs: median(theirsSamples), ratio: median(ratios) };
}

/**
 * Runs the parser benchmark.
 * @returns a markdown section with MB/s for both parsers and their ratio
 */
export async function bench(): Promise<string> {
  const workloads = [
    workload('(a) LLM stream, English, 50k events, 1–4 KB reads', llmStream(ENGLISH), 1024, 4096),
    workload('(a) LLM stream, Chinese, 50k events, 1–4 KB reads', llmStream(CHINESE), 1024, 4096),
    workload('(b) 16 × 256 KB events, 64–1024 B reads', largeEvents(), 64, 1024),
  ];
  const rows: string[] = [];
  for (const input of ['bytes', 'text'] as const) {
    for (const work of workloads) {
      const result = compare(work, runSluice(input), runEventSourceParser(input));
      rows.push(`| ${work.name} | ${input} | ${result.ours.toFixed(0)} | ${result.theirs.toFixed(0)} | ${result.ratio.toFixed(2)}× |`);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  return [
    '### SSE parser: sluice vs eventsource-parser',
    '',
    `Same input, same run; fresh parser per iteration, events consumed into a checked count and checksum, median of ${SAMPLES} samples of ≥ ${SAMPLE_MS} ms of ${threadCpuUsage === undefined ? 'wall' : 'main-thread CPU'} time after warmup, the two parsers alternating; the ratio is the median of the per-sample ratios. "bytes": each parser gets \`Uint8Array\` reads (eventsource-parser through a streaming \`TextDecoder\`); "text": both get the same decoded strings. Run checksum: ${sink % 1_000_003}.`,
    '',
    '| workload | input | sluice MB/s | eventsource-parser MB/s | ratio |',
    '|---|---|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
