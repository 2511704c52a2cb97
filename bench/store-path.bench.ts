/**
 * The store path's own cost per event, in one process, without sockets or pacing: R runs started
 * through the run manager on the memory store, each appending N `text-delta` events and a
 * `finish` from an async generator, each read by its first response's source (`logFollower` with the
 * first-event check and an `until`, as `/api/chat` follows a run), consumed by `for await`; against
 * the direct path (the same generators read by `for await`, no run, no store). What the W5 bench's
 * profile attributes to the store path, measured finely enough to see a change of a promise hop.
 *
 * Method: each row is warmed up once, then measured SAMPLES times; the table gives the median CPU
 * (`process.cpuUsage()`, user + system) per event delivered. Every read checks its count and
 * checksum against the direct path's. `global.gc()` runs between samples with `--expose-gc`.
 *
 * Run alone: `npx node --expose-gc bench/index.ts store-path`.
 *
 * @module
 */
import { runAgent } from '../src/agent/run-agent.ts';
import { createHook } from 'node:async_hooks';
import type { Format } from '../src/core/types.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { Provider } from '../src/providers/types.ts';
import { logFollower } from '../src/server/runs/follow-stream.ts';
import { createRunManager } from '../src/server/runs/run-manager.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { StoredEvent } from '../src/store/types.ts';

const RUNS = Number(process.env.STORE_PATH_RUNS ?? 200);
const EVENTS = Number(process.env.STORE_PATH_EVENTS ?? 500);
const SAMPLES = 7;
const WORDS = ['Once', ' upon', ' a', ' time', ',', ' a', ' stream', ' kept', ' its', ' promises', '.'];
const gc = (globalThis as { gc?: () => void }).gc;

async function* generate(): AsyncGenerator<AgentEvent> {
  for (let n = 0; n < EVENTS; n++) yield { type: 'text-delta', id: 't', delta: WORDS[n % WORDS.length]! };
  yield { type: 'finish', finishReason: 'stop' };
}

/** A codec that writes nothing: the bench measures the path to it. */
const NO_CODEC: Format<StoredEvent> = { contentType: 'text/plain', encode: () => '' };

const checksum = (count: number, sum: number): number => count * 1e9 + sum;

/** A model streaming the same deltas as one step (what `/api/chat` runs, without pacing). */
const model: Provider = async function* (_request, options) {
  yield { type: 'message-start', messageId: 'm', model: 'bench' };
  yield { type: 'text-start', id: 't' };
  for (let n = 0; n < EVENTS; n++) {
    options?.signal?.throwIfAborted();
    yield { type: 'text-delta', id: 't', delta: WORDS[n % WORDS.length]! };
  }
  yield { type: 'text-end', id: 't' };
  yield { type: 'finish', finishReason: 'stop' };
};

const agent = (signal?: AbortSignal): AsyncIterable<AgentEvent> =>
  runAgent({ provider: model, model: 'bench', messages: [{ role: 'user', content: 'Hi' }], ...(signal === undefined ? {} : { signal }) });

/** Counts the deltas only: the agent adds its own events around them. */
const deltaSum = (count: number, sum: number, event: AgentEvent): [number, number] =>
  event.type === 'text-delta' ? [count + 1, sum + count + 1 + event.delta.length] : [count, sum];

async function agentDirect(): Promise<number> {
  const reads = Array.from({ length: RUNS }, async () => {
    let count = 0;
    let sum = 0;
    for await (const event of agent()) [count, sum] = deltaSum(count, sum, event);
    return checksum(count, sum);
  });
  return (await Promise.all(reads)).reduce((a, b) => a + b, 0);
}

async function agentStorePath(): Promise<number> {
  const store = createMemoryStore();
  const runs = createRunManager({ store, detachGraceMs: 0 });
  const reads = Array.from({ length: RUNS }, async () => {
    const run = await runs.start({ source: (signal) => agent(signal) });
    const controller = new AbortController();
    const log = logFollower(store, run.id, 0, true, NO_CODEC, (stored: StoredEvent) => stored.id < 0);
    let count = 0;
    let sum = 0;
    try {
      for await (const stored of log.source(controller.signal)) {
        log.format.encode(stored);
        [count, sum] = deltaSum(count, sum, stored.event);
      }
    } finally {
      run.release();
    }
    await run.done;
    return checksum(count, sum);
  });
  const total = (await Promise.all(reads)).reduce((a, b) => a + b, 0);
  await store.close?.();
  return total;
}

async function direct(): Promise<number> {
  const reads = Array.from({ length: RUNS }, async () => {
    let count = 0;
    let sum = 0;
    for await (const event of generate()) {
      count++;
      sum += count + (event.type === 'text-delta' ? event.delta.length : 0);
    }
    return checksum(count, sum);
  });
  return (await Promise.all(reads)).reduce((a, b) => a + b, 0);
}

async function storePath(): Promise<number> {
  const store = createMemoryStore();
  const runs = createRunManager({ store, detachGraceMs: 0 });
  const reads = Array.from({ length: RUNS }, async () => {
    const run = await runs.start({ source: () => generate() });
    const controller = new AbortController();
    // As `Streams.follow` reads a run for its first response, with an `until` that never ends it early
    // (checked as the codec encodes each event, as the engine does).
    const log = logFollower(store, run.id, 0, true, NO_CODEC, (stored: StoredEvent) => stored.id < 0);
    let count = 0;
    let sum = 0;
    try {
      for await (const stored of log.source(controller.signal)) {
        log.format.encode(stored);
        const { id, event } = stored;
        count++;
        sum += id + (event.type === 'text-delta' ? event.delta.length : 0);
      }
    } finally {
      run.release();
    }
    await run.done;
    return checksum(count, sum);
  });
  const total = (await Promise.all(reads)).reduce((a, b) => a + b, 0);
  await store.close?.();
  return total;
}

async function median(run: () => Promise<number>, expected: number): Promise<number> {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    gc?.();
    const before = process.cpuUsage();
    const check = await run();
    const used = process.cpuUsage(before);
    if (check !== expected) throw new Error(`checksum ${check}, expected ${expected}: events were lost or duplicated`);
    samples.push((used.user + used.system) / (RUNS * (EVENTS + 1)));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/**
 * Promises made per event delivered, counted with an async hook over one run: exact and the same
 * from run to run, where CPU time moves with the machine's load. (With a hook on, V8 makes some
 * promises it otherwise skips, so the counts are above what a run without one makes; they move with it.)
 */
async function promisesPerEvent(run: () => Promise<number>): Promise<number> {
  let promises = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') promises++;
    },
  }).enable();
  try {
    await run();
  } finally {
    hook.disable();
  }
  return promises / (RUNS * (EVENTS + 1));
}

export async function bench(): Promise<string> {
  const expected = await direct();
  const base = await median(direct, expected);
  const store = await median(storePath, expected);
  const agentExpected = await agentDirect();
  const agentBase = await median(agentDirect, agentExpected);
  const agentStore = await median(agentStorePath, agentExpected);
  const promises = [];
  for (const run of [direct, storePath, agentDirect, agentStorePath]) promises.push((await promisesPerEvent(run)).toFixed(2));
  return [
    `### Store path: ${RUNS} runs × ${EVENTS + 1} events through the run manager, the memory store and a first response's source`,
    '',
    `Median of ${SAMPLES} samples, CPU µs per event delivered (\`process.cpuUsage()\`); no sockets, no pacing, no codec. The \`runAgent\` rows count per delta (the agent adds its own few events). Promises: made per event, counted by an async hook over one more run.`,
    '',
    '| path | CPU µs/event | × direct | promises/event |',
    '| --- | ---: | ---: | ---: |',
    `| direct: \`for await\` over the generator | ${base.toFixed(3)} | 1.00× | ${promises[0]} |`,
    `| run manager + memory store + \`logFollower\` | ${store.toFixed(3)} | ${(store / base).toFixed(2)}× | ${promises[1]} |`,
    `| \`runAgent\` over a model of the same deltas, \`for await\` | ${agentBase.toFixed(3)} | ${(agentBase / base).toFixed(2)}× | ${promises[2]} |`,
    `| \`runAgent\` + run manager + memory store + \`logFollower\` | ${agentStore.toFixed(3)} | ${(agentStore / base).toFixed(2)}× | ${promises[3]} |`,
  ].join('\n');
}
