/**
 * Token-length padding: what it costs per content frame, in bytes and CPU, in each wire format.
 *
 * Method. The fixed token corpus of the padding test (4,000 tokens: English pieces of 1–26
 * characters, Chinese tokens of 1–10 characters, punctuation) streams as text deltas through a
 * fresh codec per iteration, padding off and then on (the default: 32-byte buckets, filler from
 * `crypto.getRandomValues`), and each result through `TextEncoder.encode` as the stream engine
 * does; the bytes are summed and checked so no work can be skipped. Bytes per frame are exact
 * (the mean over the corpus); time per frame is the median of 11 samples (each 5 runs of the corpus)
 * after 2 warm-up samples, off and on alternating so load on a shared machine falls on both alike,
 * with a GC between samples when Node runs with `--expose-gc`. Plain text pads by cutting the text into
 * 32-byte chunks, so its "bytes" are unchanged and its cost is the copying.
 *
 * @module
 */
import type { Format } from '../src/core/types.ts';
import { agUi, agentNdjson, agentSse, agentText, aiSdkUiStream, openaiChunks, type AgentEvent, type PaddingOption } from '../src/protocol/index.ts';
import { tokenCorpus } from '../test/padding-corpus.ts';

const WARMUP = 2;
const SAMPLES = 11;
/** Runs of the corpus per sample. */
const REPEAT = 5;
const gc = (globalThis as { gc?: () => void }).gc;
const CORPUS = tokenCorpus(4000);

const FORMATS: [string, (padding: PaddingOption) => Format<AgentEvent>][] = [
  ['native SSE', (padding) => agentSse({ padding })],
  ['NDJSON', (padding) => agentNdjson({ padding })],
  ['AI SDK UI message stream', (padding) => aiSdkUiStream({ padding })],
  ['AG-UI', (padding) => agUi({ threadId: 't', runId: 'r', padding })],
  ['OpenAI chunks', (padding) => openaiChunks({ id: 'chatcmpl-1', model: 'local', created: 1_700_000_000, padding })],
  ['plain text', (padding) => agentText({ padding })],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const encoder = new TextEncoder();

/** Streams the corpus through a fresh codec; returns the bytes written for the text deltas. */
function run(make: () => Format<AgentEvent>): number {
  const format = make();
  format.encode({ type: 'text-start', id: 't1' });
  let bytes = 0;
  for (const token of CORPUS) {
    const out = format.encode({ type: 'text-delta', id: 't1', delta: token });
    bytes += typeof out === 'string' ? encoder.encode(out).byteLength : out.byteLength;
  }
  const end = format.encode({ type: 'text-end', id: 't1' });
  bytes += typeof end === 'string' ? encoder.encode(end).byteLength : end.byteLength;
  return bytes;
}

/**
 * Median milliseconds of one run, off and on: samples alternate between the two (each sample is
 * REPEAT runs), so a load change on a shared machine falls on both alike.
 */
function measurePair(off: () => Format<AgentEvent>, on: () => Format<AgentEvent>): [number, number] {
  const sample = (make: () => Format<AgentEvent>): number => {
    gc?.();
    const start = performance.now();
    let bytes = 0;
    for (let i = 0; i < REPEAT; i++) bytes += run(make);
    const elapsed = (performance.now() - start) / REPEAT;
    if (bytes === 0) throw new Error('bench work produced nothing');
    return elapsed;
  };
  for (let i = 0; i < WARMUP; i++) {
    sample(off);
    sample(on);
  }
  const timesOff: number[] = [];
  const timesOn: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    timesOff.push(sample(off));
    timesOn.push(sample(on));
  }
  return [median(timesOff), median(timesOn)];
}

/** The markdown section. */
export async function bench(): Promise<string> {
  const rows: string[] = [];
  // Warm every codec up both ways before measuring any, so the first row does not pay for the JIT.
  for (const [, make] of FORMATS) {
    run(() => make(false));
    run(() => make(true));
  }
  for (const [name, make] of FORMATS) {
    const bytesOff = run(() => make(false)) / CORPUS.length;
    const bytesOn = run(() => make(true)) / CORPUS.length;
    const [msOff, msOn] = measurePair(() => make(false), () => make(true));
    const microsOff = (msOff * 1000) / CORPUS.length;
    const microsOn = (msOn * 1000) / CORPUS.length;
    rows.push(
      `| ${name} | ${bytesOff.toFixed(1)} | ${bytesOn.toFixed(1)} | +${(bytesOn - bytesOff).toFixed(1)} (${(((bytesOn - bytesOff) / bytesOff) * 100).toFixed(0)} %) | ${microsOff.toFixed(2)} | ${microsOn.toFixed(2)} | +${(microsOn - microsOff).toFixed(2)} |`,
    );
  }
  return [
    '### Token-length padding: cost per content frame',
    '',
    `${CORPUS.length} text deltas of the padding test's corpus (English and Chinese, 1–26 characters) through each codec, padding off and on (32-byte buckets). Bytes: mean per frame; CPU: median µs per frame (encode + UTF-8 encode) of ${SAMPLES} alternating samples.`,
    '',
    '| format | bytes off | bytes on | added | µs off | µs on | added µs |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

// Run alone: `node bench/padding.bench.ts`.
if (import.meta.url === `file://${process.argv[1]}`) console.log(await bench());
