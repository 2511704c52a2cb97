/**
 * Summarizes a `--cpu-prof` profile of `sluice serve` taken under the W5 bench (not part of
 * `npm run bench`): self time by function and by file, as shares of the non-idle samples.
 *
 * Run: W5_PEERS=api-chat W5_CLIENTS=300 W5_REDIS_CLIENTS= W5_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/w5prof" npm run bench -- w5
 *      node bench/w5-profile-summary.ts /tmp/w5prof/<file>.cpuprofile [rows=30]
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
}

const [file, rowsArg = '30'] = process.argv.slice(2);
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
