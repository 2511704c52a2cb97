import { defineConfig } from 'vitest/config';
import { SummaryReporter } from './test/summary-reporter.ts';

// Tests that measure time or memory (disconnect latency, backpressure, upstream close within
// 200 ms) run last and one file at a time, so the rest of the suite running in parallel on a
// 2-core machine does not stretch what they measure.
const TIMING = [
  'test/held-demo-connections.node.test.ts',
  'test/core-disconnect.node.test.ts',
  'test/core-held-failure.node.test.ts',
  'test/server-late-first-error.node.test.ts',
  'test/core-backpressure.node.test.ts',
  'test/providers-disconnect.test.ts',
  'test/chat-disconnect-e2e.test.ts',
  'test/files-large.node.test.ts',
  'test/files-send-timeout.node.test.ts',
  'test/runtimes/runtimes.node.test.ts',
  'test/streams-redis.node.test.ts',
  'test/chat-detach-redis.node.test.ts',
  'test/store-redis-failover.test.ts',
  'test/providers-timeouts.test.ts',
  'test/web-page.node.test.ts',
  'test/web-streams.node.test.ts',
  'test/chaos-redis-outage.node.test.ts',
  'test/chaos.node.test.ts',
  'test/multi-instance.node.test.ts',
  'test/approval-redis.node.test.ts',
  'test/approval-web.node.test.ts',
  'test/approval-react.node.test.ts',
  'test/package.node.test.ts',
  'test/takeover-redis.node.test.ts',
  'test/takeover-store.test.ts',
  'test/takeover-runs.test.ts',
  'test/store-redis-cluster.test.ts',
  'test/streams-redis-cluster.node.test.ts',
  'test/store-redis-cluster-failover.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', new SummaryReporter()],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: TIMING, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'timing', include: TIMING, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
