/**
 * A `sluice serve` for the takeover tests: the app's own `serve()` with the built-in tools (none
 * with `TAKEOVER_TOOLS=test`) and three test tools, and the CLI's SIGTERM handling. `TAKEOVER_LEASE_MS` shortens the Redis lease
 * (the app's default store uses 10 s) so the tests wait less for a killed producer's lease to lapse.
 *
 * Test tools (the local model calls one when the question names it):
 * - `send_notice`: not idempotent (it stands for a side effect); 10 progress steps, 300 ms apart.
 * - `count_slowly`: idempotent; the same steps; returns `{ counted: 10 }`.
 * - `crash_server`: idempotent, and kills its own process with SIGKILL (a request that kills
 *   whichever instance runs it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { tool } from '../src/agent/tool.ts';
import { createBuiltinTools } from '../src/agent/tools/builtin-tools.ts';
import { serve, startupLog } from '../src/server/app.ts';
import { shutdownServer } from '../src/server/shutdown.ts';
import { createRedisStore } from '../src/store/redis.ts';

function stepping(name: string, idempotent: boolean, output: (message: string) => unknown) {
  return tool({
    name,
    description: `${name.replace('_', ' ')} (a test tool).`,
    input: z.object({ message: z.string() }),
    idempotent,
    async *execute({ message }, { signal }) {
      for (let done = 1; done <= 10; done++) {
        await sleep(300, undefined, { signal });
        yield { type: 'progress', done, total: 10 };
      }
      return output(message);
    },
  });
}

const crash = tool({
  name: 'crash_server',
  description: 'crash server (a test tool that kills the instance running it).',
  input: z.object({ message: z.string() }),
  idempotent: true,
  async *execute() {
    yield { type: 'progress', done: 0, total: 1 };
    await sleep(50);
    process.kill(process.pid, 'SIGKILL');
    await sleep(10_000);
    return 'unreachable';
  },
});

const leaseMs = Number(process.env.TAKEOVER_LEASE_MS ?? '') || undefined;
const store = leaseMs === undefined ? undefined : createRedisStore({ url: process.env.REDIS_URL ?? '', leaseMs });
// TAKEOVER_TOOLS=test: the test tools only (the local model would call search_docs for nearly anything).
const tools = [
  ...(process.env.TAKEOVER_TOOLS === 'test' ? [] : createBuiltinTools()),
  stepping('send_notice', false, (message) => ({ sent: message })),
  stepping('count_slowly', true, () => ({ counted: 10 })),
  crash,
];
const server = await serve({ tools, ...(store === undefined ? {} : { store }) });
console.log(startupLog(server).join('\n'));
process.on('SIGTERM', () => {
  console.log('sluice: SIGTERM, draining');
  void shutdownServer(server)
    .then(() => store?.close())
    .then(() => process.exit(0));
});
