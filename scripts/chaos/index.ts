/**
 * `npm run chaos [-- --seed N --streams N --seconds N --faults-per-kind N --out FILE]`: the fault
 * suite (see run-chaos.ts and docs/fault-suite.md). Prints the table, writes the raw results as
 * JSON, exits 1 on any violation.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable, runChaos } from './run-chaos.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    streams: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '150' },
    'faults-per-kind': { type: 'string', default: '3' },
    out: { type: 'string', default: 'test-results/chaos.json' },
    quiet: { type: 'boolean', default: false },
  },
});

function integer(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`chaos: --${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return value;
}

const options = {
  seed: integer('seed', values.seed, 0),
  streams: integer('streams', values.streams, 1),
  seconds: integer('seconds', values.seconds, 20),
  faultsPerKind: integer('faults-per-kind', values['faults-per-kind'], 1),
};
const out = resolve(values.out);
console.log(`chaos: seed ${options.seed}, ${options.streams} streams, ${options.seconds} s of faults, each scheduled fault ${options.faultsPerKind}×`);
const result = await runChaos({ ...options, log: values.quiet ? () => {} : (line) => console.log(`  ${line}`) });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.log('');
console.log(formatTable(result.table));
console.log('');
console.log(`outcomes: ${JSON.stringify(result.outcomes)}`);
console.log(`terminal events: ${JSON.stringify(result.terminals)}`);
for (const instance of result.instances) {
  console.log(
    `instance ${instance.index}: active streams ${String(instance.activeStreams)}, fds ${String(instance.fds)} (baseline ${String(instance.baselineFds)}), RSS ${instance.rss === undefined ? '?' : Math.round(instance.rss / 1048576)} MB (baseline ${instance.baselineRss === undefined ? '?' : Math.round(instance.baselineRss / 1048576)} MB)`,
  );
}
console.log(`malformed requests: ${result.malformed.requests} ${JSON.stringify(result.malformed.statuses)}`);
console.log(`took ${(result.durationMs / 1000).toFixed(0)} s; raw results: ${out}`);
if (result.violations.length > 0) {
  console.log(`\n${result.violations.length} violations:`);
  for (const violation of result.violations.slice(0, 40)) {
    console.log(`  ${violation.rule}${violation.stream === undefined ? '' : ` (stream ${violation.stream}${violation.streamId === undefined ? '' : ` ${violation.streamId}`})`}: ${violation.detail}`);
  }
  if (result.violations.length > 40) console.log(`  … and ${result.violations.length - 40} more in ${out}`);
  process.exit(1);
}
console.log('0 violations');
