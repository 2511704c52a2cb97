/**
 * A short seeded run of the fault suite (`npm run chaos` runs the long one): a private Redis, three
 * built `sluice serve` instances, Debian's nginx with deploy/nginx.conf, 40 streams over 60 s, every
 * fault kind injected at least once; the checker must find nothing. Needs nginx, redis-server and
 * the build (`npm test` builds first). With CI=true a missing nginx or redis-server fails the file.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from '../scripts/chaos/instances.ts';
import { requireNginxAndRedis } from './helpers/nginx-redis.ts';
import { FAULT_KINDS, formatTable, runChaos } from '../scripts/chaos/run-chaos.ts';

const ready = requireNginxAndRedis('The fault suite');

describe.skipIf(!ready)('the fault suite, short seeded run', () => {
  it('40 streams through nginx under every fault kind: every stream checks against its log, no violation', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const result = await runChaos({ seed: 7, streams: 40, seconds: 60, faultsPerKind: 1 });
    const report = `${formatTable(result.table)}\n${result.violations.map((violation) => `${violation.rule}${violation.stream === undefined ? '' : ` (stream ${violation.stream})`}: ${violation.detail}`).join('\n')}`;
    for (const kind of FAULT_KINDS) {
      expect(result.table.find((row) => row.fault === kind)?.injected, `${kind} was injected\n${report}`).toBeGreaterThanOrEqual(1);
    }
    expect(result.streams).toHaveLength(40);
    expect(result.violations, report).toEqual([]);
  }, 240_000);
});
