/**
 * Stream store cost: what it costs to put a generation's events through the store log (memory and
 * Redis) and read them back as a live follower, against iterating the same events directly; and
 * the time to replay 10,000 events on resume.
 *
 * Method. The workload is 20,000 `text-delta` events (short deltas, as a model streams them;
 * the Redis rows take the last 5,000, since each awaited append is a round trip) and a `finish`.
 * Live rows: a fresh stream per iteration (one store per backend); the followers start first,
 * then the producer appends every event, awaiting each append as a run does (one row pipelines
 * them instead); the followers consume into a count and a checksum (delta lengths plus ids),
 * which must match the direct path (defeats dead-code elimination and checks nothing is lost).
 * The direct path is an async generator yielding the same events to a `for await` loop: what a
 * response reading its generation without a store would do. Replay rows read a finished
 * 10,000-event stream from id 0.
 * Each row is warmed up, then measured in SAMPLES samples; the table gives the median. `CPU µs`
 * is `process.cpuUsage()` (user + system) of this process per event, so the Redis rows leave out
 * redis-server's own CPU; `wall` is the elapsed time. `global.gc()` runs between samples when
 * Node was started with `--expose-gc`. Redis rows run against a private `redis-server`
 * (`--save "" --appendonly no`, on 127.0.0.1) and are left out when it is not on PATH.
 *
 * Run alone: `npx node bench/store.bench.ts` (or `npx node --expose-gc bench/store.bench.ts`).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { createRedisStore } from '../src/store/redis.ts';
import type { StreamStore } from '../src/store/types.ts';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../test/helpers/redis-server.ts';

const SAMPLES = 5;
const WARMUP = 1;
const LIVE_EVENTS = 20_000;
/** Redis rows use fewer events: each awaited append is a round trip. */
const REDIS_LIVE_EVENTS = 5_000;
const REPLAY_EVENTS = 10_000;
const WORDS = ['The', ' stream', 'ing', ' response', ' keeps', ' memory', ' bounded', ',', ' even', ' when', ' the', ' model', ' is', ' fast', '.', '\n'];

const gc = (globalThis as { gc?: () => void }).gc;

function events(count: number): AgentEvent[] {
  const out: AgentEvent[] = [];
  for (let n = 0; n < count; n++) out.push({ type: 'text-delta', id: 'text-1', delta: WORDS[n % WORDS.length] ?? '' });
  out.push({ type: 'finish', finishReason: 'stop' });
  return out;
}

/** What a consumer computes from each event: count and checksum, compared across paths. */
function fold(state: { count: number; sum: number }, id: number, event: AgentEvent): void {
  state.count++;
  state.sum += id + (event.type === 'text-delta' ? event.delta.length : 0);
}

interface Measure {
  wallMs: number;
  cpuUs: number;
  check: number;
}

async function measure(run: () => Promise<number>): Promise<Measure> {
  gc?.();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const check = await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuUs: used.user + used.system, check };
}

async function median(run: () => Promise<number>, expected: number): Promise<Measure> {
  for (let i = 0; i < WARMUP; i++) await run();
  const samples: Measure[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const sample = await measure(run);
    if (sample.check !== expected) throw new Error(`checksum ${sample.check}, expected ${expected}: events were lost or duplicated`);
    samples.push(sample);
  }
  samples.sort((a, b) => a.wallMs - b.wallMs);
  return samples[Math.floor(samples.length / 2)] as Measure;
}

/** The direct path: an async generator yields the events to one consumer. */
async function direct(list: AgentEvent[]): Promise<number> {
  async function* source(): AsyncGenerator<AgentEvent> {
    for (const event of list) yield event;
  }
  const state = { count: 0, sum: 0 };
  let id = 0;
  for await (const event of source()) fold(state, ++id, event);
  return state.count * 1e9 + state.sum;
}

/** A live stream through a store: `followers` start first, the producer awaits each append. */
async function live(store: StreamStore, list: AgentEvent[], followers: number, awaitEach = true): Promise<number> {
  const writer = await store.create({ id: randomUUID() });
  const reads = Array.from({ length: followers }, async () => {
    const state = { count: 0, sum: 0 };
    for await (const { id, event } of store.read(writer.id)) fold(state, id, event);
    return state.count * 1e9 + state.sum;
  });
  if (awaitEach) for (const event of list) await writer.append(event);
  else await Promise.all(list.map((event) => writer.append(event)));
  const results = await Promise.all(reads);
  if (results.some((result) => result !== results[0])) throw new Error('followers disagree');
  return results[0] ?? 0;
}

/** Appends `list` to a new finished stream and returns its id (replay setup, not measured). */
async function finishedStream(store: StreamStore, list: AgentEvent[]): Promise<string> {
  const writer = await store.create({ id: randomUUID() });
  const pending: Promise<number>[] = [];
  for (const event of list) pending.push(writer.append(event));
  await Promise.all(pending);
  return writer.id;
}

async function replay(store: StreamStore, id: string): Promise<number> {
  const state = { count: 0, sum: 0 };
  for await (const { id: eventId, event } of store.read(id, { after: 0 })) fold(state, eventId, event);
  return state.count * 1e9 + state.sum;
}

const format = (value: number, digits = 2): string => value.toFixed(digits);

function liveRow(name: string, m: Measure, base: Measure, count: number, followers: number): string {
  const cpuPerEvent = m.cpuUs / count;
  const baseCpuPerEvent = base.cpuUs / (LIVE_EVENTS + 1);
  const perDelivered = m.cpuUs / (count * followers);
  return `| ${name} | ${followers} | ${format(count / m.wallMs, 0)}k | ${format(cpuPerEvent)} | ${format(perDelivered)} | ${format(cpuPerEvent / baseCpuPerEvent, 1)}x |\n`;
}

/** Runs the store bench. @returns its markdown section */
export async function bench(): Promise<string> {
  const liveList = events(LIVE_EVENTS);
  const replayList = events(REPLAY_EVENTS - 1);
  const expectedLive = await direct(liveList);
  const expectedReplay = await direct(replayList);
  let server: RedisServer | undefined;
  const redisStores: StreamStore[] = [];
  const redis = (): StreamStore => {
    const store = createRedisStore({ url: (server as RedisServer).url, keyPrefix: `bench:${randomUUID()}:` });
    redisStores.push(store);
    return store;
  };
  try {
    if (redisServerAvailable()) {
      server = await startRedisServer();
      const probe = redis();
      while (!(await probe.ready())) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const count = liveList.length;
    const base = await median(() => direct(liveList), expectedLive);
    let table =
      '| path | followers | events/s | CPU µs per event | CPU µs per event and follower | CPU vs direct |\n|---|---:|---:|---:|---:|---:|\n';
    table += liveRow('direct: `for await` over an async generator', base, base, count, 1);
    const memory = createMemoryStore();
    for (const followers of [1, 10]) {
      const m = await median(() => live(memory, liveList, followers), expectedLive);
      table += liveRow('memory store: append, live follower', m, base, count, followers);
    }
    const replayBase = await median(() => direct(replayList), expectedReplay);
    if (server !== undefined) {
      const store = redis();
      const redisList = liveList.slice(-REDIS_LIVE_EVENTS - 1);
      const expected = await direct(redisList);
      for (const followers of [1, 10]) {
        const m = await median(() => live(store, redisList, followers), expected);
        table += liveRow('Redis store: append (Lua, awaited), live follower', m, base, redisList.length, followers);
      }
      const m = await median(() => live(store, redisList, 1, false), expected);
      table += liveRow('Redis store: appends not awaited (pipelined), live follower', m, base, redisList.length, 1);
    }

    let replayTable = '| replay of 10,000 events from id 0 | ms | µs per event | vs direct |\n|---|---:|---:|---:|\n';
    const replayRow = (name: string, m: Measure): string =>
      `| ${name} | ${format(m.wallMs)} | ${format((m.wallMs * 1000) / REPLAY_EVENTS)} | ${format(m.wallMs / replayBase.wallMs, 1)}x |\n`;
    replayTable += replayRow('direct: `for await` over an async generator', replayBase);
    const memoryId = await finishedStream(memory, replayList);
    replayTable += replayRow('memory store', await median(() => replay(memory, memoryId), expectedReplay));
    if (server !== undefined) {
      const store = redis();
      const redisId = await finishedStream(store, replayList);
      replayTable += replayRow('Redis store (XRANGE pages of 1000)', await median(() => replay(store, redisId), expectedReplay));
    }
    await memory.close();

    return `### Stream store (\`bench/store.bench.ts\`)

${LIVE_EVENTS.toLocaleString('en')} text deltas (Redis: the last ${REDIS_LIVE_EVENTS.toLocaleString('en')}) and a \`finish\` through the store log to live followers (the producer awaits
each append unless the row says otherwise), against a \`for await\` over the same events without a store; then the replay of a finished
10,000-event stream on resume. Median of ${SAMPLES} samples after ${WARMUP} warm-up${gc === undefined ? ' (no forced GC: run with `node --expose-gc` for it)' : ', GC between samples'}.
CPU is this process's only (Redis rows leave out redis-server's CPU).${server === undefined ? ' Redis rows left out: `redis-server` is not on PATH.' : ''}

${table}
${replayTable}`;
  } finally {
    await Promise.all(redisStores.map((store) => store.close()));
    await server?.close();
  }
}

if (import.meta.main) console.log(await bench());
