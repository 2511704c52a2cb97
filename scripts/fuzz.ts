/**
 * `npm run fuzz`: the long run of the fuzzing of every input (issue 16). For each route, 100,000
 * requests generated from its request schema (and random methods, paths, headers, bodies and
 * `Last-Event-ID`s) against the real server on a local port; the checks are test/fuzz-targets.ts's:
 * never a 5xx, never an internal error, a JSON error with a code for every 4xx, no frame, field,
 * line or header added by a string. The seeded subset runs in `npm test` (test/fuzz.node.test.ts).
 *
 * Usage: `npm run fuzz -- [--runs N] [--seed S] [--only NAME,NAME]` (`FUZZ_RUNS`, `FUZZ_SEED` too);
 * `--only` keeps the routes whose name contains one of the comma-separated parts.
 * A failure prints the shrunk request, the seed and the path to replay it, and exits 1.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { fuzzProperty, startFuzzApp, TARGETS } from '../test/fuzz-targets.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' } },
});
const runs = Number(values.runs ?? process.env.FUZZ_RUNS ?? 100_000);
const seed = Number(values.seed ?? process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError(`Expected --runs to be a positive integer, got ${String(values.runs ?? process.env.FUZZ_RUNS)}.`);
if (!Number.isSafeInteger(seed)) throw new RangeError(`Expected --seed to be an integer, got ${String(values.seed ?? process.env.FUZZ_SEED)}.`);

const only = values.only?.split(',').map((name) => name.trim());
const targets = Object.entries(TARGETS).filter(([name]) => only === undefined || only.some((part) => name.includes(part)));
console.log(`sluice fuzz: ${runs} cases per route, seed ${seed}, ${targets.length} routes`);
const app = await startFuzzApp();
let failed = false;
const started = performance.now();
try {
  for (const [name, target] of targets) {
    const start = performance.now();
    const result = await fc.check(fuzzProperty(app, target), { seed, numRuns: runs, endOnFailure: true });
    const seconds = (performance.now() - start) / 1000;
    if (result.failed) {
      failed = true;
      console.log(`✗ ${name}: failed after ${result.numRuns} cases (${seconds.toFixed(0)} s)`);
      console.log(fc.defaultReportMessage(result));
      if (result.errorInstance instanceof Error) console.log(`  ${result.errorInstance.message}`);
      console.log(`  replay: npm run fuzz -- --only '${name}' --seed ${result.seed} --runs ${runs}   (path ${result.counterexamplePath})`);
    } else {
      console.log(`✓ ${name}: ${result.numRuns} cases, no 5xx, no internal error, nothing injected (${seconds.toFixed(0)} s, ${(result.numRuns / seconds).toFixed(0)} cases/s)`);
    }
  }
} finally {
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const rss = process.memoryUsage().rss;
  // With `node --expose-gc` (NODE_OPTIONS), the heap still live after a full collection, app still up.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const live = gc === undefined ? '' : `, heap live after GC ${mib(process.memoryUsage().heapUsed)}`;
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; RSS at the end ${mib(rss)}${live}`);
  await app.close();
}
process.exit(failed ? 1 : 0);
