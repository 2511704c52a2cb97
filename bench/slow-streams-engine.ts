/**
 * The stream engine's own cost per event on slow streams, in one process, without sockets: K
 * streams of N small SSE events, each event after a macrotask boundary (one shared 1 ms timer, as
 * slow tokens arrive), written into a sink that only counts. The same generator feeds sluice's
 * engine (`createStreamEngine` with `sse()`) and a bare `for await` loop writing `data: …\n\n`;
 * the difference is what the engine adds per event, apart from the socket write. CPU time
 * (process.cpuUsage) per event, median of ROUNDS rounds after one warm-up, the two alternating.
 * Not part of `npm run bench`: a quick check for changes to src/core.
 *
 * Run: node bench/slow-streams-engine.ts
 *
 * @module
 */
import { createStreamEngine, type Sink } from '../src/core/stream-engine.ts';
import { sse } from '../src/sse/sse-format.ts';

const K = 1000;
const N = 100;
const ROUNDS = 9;
const DATA = 'abcdefghijklmnop';

let tickPromise: Promise<void> | undefined;
/** One promise per millisecond shared by every stream: a macrotask boundary without K timers. */
function tick(): Promise<void> {
  return (tickPromise ??= new Promise((resolve) =>
    setTimeout(() => {
      tickPromise = undefined;
      resolve();
    }, 1),
  ));
}

async function* tokens(signal: AbortSignal): AsyncGenerator<{ data: string }> {
  for (let i = 0; i < N && !signal.aborted; i++) {
    await tick();
    yield { data: DATA };
  }
}

function countingSink(): Sink & { writes: number; readonly bytes: number } {
  let bytes = 0;
  return {
    writes: 0,
    commit() {},
    write(chunk) {
      bytes += typeof chunk === 'string' ? chunk.length : chunk.byteLength;
      this.writes++;
      return true;
    },
    end() {},
    abort() {},
    get bytes() {
      return bytes;
    },
  };
}

async function bare(sink: Sink): Promise<void> {
  const controller = new AbortController();
  for await (const event of tokens(controller.signal)) {
    const frame = `data: ${event.data}\n\n`;
    // ASCII: its length is its size in bytes.
    sink.write(frame, frame.length);
  }
  sink.end();
}

async function engine(sink: Sink): Promise<void> {
  const running = createStreamEngine((signal: AbortSignal) => tokens(signal), { format: sse() }, sink);
  running.start();
  await running.done;
}

async function round(run: (sink: Sink) => Promise<void>): Promise<{ micros: number; writes: number }> {
  const sinks = Array.from({ length: K }, countingSink);
  const before = process.cpuUsage();
  await Promise.all(sinks.map(run));
  const used = process.cpuUsage(before);
  return { micros: (used.user + used.system) / (K * N), writes: sinks.reduce((sum, sink) => sum + sink.writes, 0) / (K * N) };
}

const results = { bare: [] as number[], engine: [] as number[] };
let writes = 0;
for (let i = 0; i <= ROUNDS; i++) {
  const a = await round(bare);
  const b = await round(engine);
  writes = b.writes;
  if (i === 0) continue;
  results.bare.push(a.micros);
  results.engine.push(b.micros);
}
const median = (values: number[]): number => values.sort((x, y) => x - y)[values.length >> 1]!;
console.log(`${K} streams × ${N} events, each after a shared 1 ms timer; CPU µs per event, median of ${ROUNDS} rounds:`);
console.log(`bare for-await loop  ${median(results.bare).toFixed(3)}`);
console.log(`sluice engine        ${median(results.engine).toFixed(3)}  (${writes.toFixed(2)} writes per event)`);
console.log(`engine − bare        ${(median(results.engine) - median(results.bare)).toFixed(3)}`);
