/**
 * The multi-instance bench's orchestration at a tiny size (bench/multi-run.ts, the bench itself is
 * `npm run bench -- multi`): 6 chats through Debian's nginx with deploy/nginx.conf over three built
 * `sluice serve` on a private Redis, the instance producing the most runs killed with SIGKILL
 * mid-answer. The checker (bench/multi-check.ts) must find every chat `complete` or
 * `producer_lost` and every chat of the killed instance resumed through nginx. No times are
 * asserted. Needs nginx, redis-server and the build (`npm test` builds first); with CI=true a
 * missing nginx or redis-server fails the file.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkMulti } from '../bench/multi-check.ts';
import { formatMulti } from '../bench/multi-instance.bench.ts';
import { runMulti } from '../bench/multi-run.ts';
import { CLI } from '../scripts/chaos/instances.ts';
import { requireNginxAndRedis } from './helpers/nginx-redis.ts';

const ready = requireNginxAndRedis('The multi-instance bench');

describe.skipIf(!ready)('the multi-instance bench, tiny', () => {
  it('6 chats over 3 instances behind nginx, one instance killed mid-answer: its chats resume, every chat complete or producer_lost', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const result = await runMulti({ clients: 6, killAfterMs: 3000, loadGenerators: 1 });
    const check = checkMulti(result);
    const table = formatMulti(result, check);
    expect(check.violations, table).toEqual([]);
    expect(result.chats, table).toHaveLength(6);
    expect(check.complete + check.producerLost, table).toBe(6);
    // The killed instance was producing when it died, and each of its chats got a frame it had
    // not had before on a resume through nginx.
    expect(check.victimChats, table).toBeGreaterThanOrEqual(1);
    expect(check.resumed, table).toBe(check.victimChats);
    expect(result.instances.filter((row) => row.killed), table).toHaveLength(1);
    // Every frame came through nginx from a named instance, and the logs hold every chat's events.
    expect(result.unattributedFrames, table).toBe(0);
    expect(result.redisStreams, table).toBe(6);
    expect(result.redisEvents, table).toBeGreaterThan(0);
  }, 180_000);
});
