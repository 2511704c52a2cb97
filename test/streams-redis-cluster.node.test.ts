/**
 * Two `sluice serve` instances on a private 3-master Redis Cluster (`REDIS_URL=redis+cluster://…`):
 * a stream started on A and resumed on B, an event published on A reaching a subscriber on B,
 * 200 concurrent resumes, and a stop sent to B ending a generation on A. The same checks as
 * test/streams-redis.node.test.ts on one Redis. Multi-process: runs in the sequential `timing` project.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { itResumesAcrossInstances, startInstancePair, type InstancePair } from './helpers/instance-pair.ts';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.ts';
import { requireRedisServer } from './helpers/redis-server.ts';

const available = requireRedisServer();

let cluster: RedisCluster;
let pair: InstancePair | undefined;

beforeAll(async () => {
  if (!available) return;
  cluster = await startRedisCluster();
  pair = await startInstancePair(cluster.url);
}, 60_000);

afterAll(async () => {
  await Promise.all([pair?.a.stop(), pair?.b.stop()]);
  await cluster?.close();
});

describe.skipIf(!available)('two instances on a 3-master Redis Cluster', () => {
  itResumesAcrossInstances(() => pair!);
});
