/**
 * A producer process for test/store-redis-failover.test.ts: creates a stream on the Redis store
 * with the default lease (10 s, heartbeat 3 s), appends an event every 200 ms and prints `ready`
 * after the first one. The test kills it with SIGKILL.
 *
 * Usage: node test/store-redis-producer.ts <redis url> <key prefix> <stream id>
 */
import { createRedisStore } from '../src/store/redis.ts';

const [url, keyPrefix, id] = process.argv.slice(2);
if (url === undefined || keyPrefix === undefined || id === undefined) throw new Error('usage: <redis url> <key prefix> <stream id>');
const store = createRedisStore({ url, keyPrefix });
while (!(await store.ready())) await new Promise((resolve) => setTimeout(resolve, 20));
const writer = await store.create({ id });
let n = 0;
await writer.append({ type: 'text-delta', id: 't', delta: String(++n) });
process.stdout.write('ready\n');
setInterval(() => void writer.append({ type: 'text-delta', id: 't', delta: String(++n) }), 200);
