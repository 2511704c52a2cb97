import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../src/store/redis.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';

// The project's Node (24, which runs .ts files), whatever node runs the test runner.
const NODE = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
const PRODUCER = fileURLToPath(new URL('./store-redis-producer.ts', import.meta.url));
const available = requireRedisServer();

describe.skipIf(!available)('the Redis store when its producer dies', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.close());

  it('ends a follower on another instance with producer_lost within 15 s of the producer being killed (default lease)', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const id = randomUUID();
    const child = spawn(NODE, [PRODUCER, server.url, keyPrefix, id], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the producer exited with code ${String(code)} before it was ready`)));
      });
      const store = createRedisStore({ url: server.url, keyPrefix });
      const seen: number[] = [];
      let killedAt = 0;
      let last: unknown;
      for await (const { id: eventId, event } of store.read(id)) {
        seen.push(eventId);
        last = event;
        if (eventId === 3) {
          child.kill('SIGKILL');
          killedAt = Date.now();
        }
      }
      const elapsed = Date.now() - killedAt;
      await store.close();
      expect(last).toMatchObject({ type: 'error', code: 'producer_lost', retryable: true });
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
      expect(elapsed).toBeLessThan(15_000);
      console.log(`producer_lost reached the follower ${elapsed} ms after SIGKILL`);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
