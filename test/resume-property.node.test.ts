/**
 * Must-show 1 of issue 14, as a property: clients that drop at random points and resume with
 * `Last-Event-ID` on a random instance assemble exactly the stream's log — ids contiguous from 1,
 * none missing, none twice, the same events, one terminal event at the end. Responses may also
 * fail on their own (a store read failing mid-response: an `error` event written to that response
 * only): such an event carries no id, and the next resume skips nothing. A `Last-Event-ID` past
 * the end of the log gets 409 `ahead_of_log`.
 *
 * Only the native SSE format carries ids (`id:`); the other codecs (AI SDK UI stream, AG-UI,
 * OpenAI chunks, NDJSON, text) carry none, which the last test pins. One instance on the memory
 * store, and two apps on one private Redis (each with its own connections and run manager).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agUi } from '../src/protocol/ag-ui.ts';
import type { AgentFormat, LoggedEvent } from '../src/protocol/agent-format.ts';
import { agentNdjson } from '../src/protocol/agent-ndjson.ts';
import { agentText } from '../src/protocol/agent-text.ts';
import { aiSdkUiStream } from '../src/protocol/ai-sdk-ui-stream.ts';
import { openaiChunks } from '../src/protocol/openai-chunks.ts';
import { isTerminalEvent, type AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { StoreError } from '../src/store/errors.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import { createRedisStore } from '../src/store/redis.ts';
import type { StoredEvent, StreamStore } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { requireRedisServer, startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const QUESTIONS = ['What is backpressure?', 'How does resume work?', 'What is SSE?'];

/** Where the next response's store read fails: after this many events (one response only). */
let pendingFault: number | undefined;

/** A store whose `read` fails with `unavailable` after `pendingFault` events, for the next read only. */
function faultable(store: StreamStore): StreamStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'read') {
        return (id: string, options?: Parameters<StreamStore['read']>[1]): AsyncIterable<StoredEvent> => {
          const failAfter = pendingFault;
          pendingFault = undefined;
          const log = target.read(id, options);
          if (failAfter === undefined) return log;
          return {
            async *[Symbol.asyncIterator]() {
              let n = 0;
              for await (const stored of log) {
                if (n++ === failAfter) {
                  // After what was read so far is on the wire: a failure after the first byte.
                  await new Promise((resolve) => setTimeout(resolve, 5));
                  throw new StoreError('unavailable', 'The store connection broke (injected).');
                }
                yield stored;
              }
            },
          };
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

interface Instance {
  app: AppHandler;
  server: TestServer;
}

async function instance(store: StreamStore): Promise<Instance> {
  const local = createLocalProvider({ ttftMs: 5, tokensPerSecond: 1500 });
  // One client address makes every request here: the per-address limits are off.
  const app = createApp({ env: {}, limits: { streams: 0, streams_per_minute: 0, followers: 0 }, store: faultable(store), models: createModelRegistry({ env: {}, providers: { local } }), onError: () => undefined });
  return { app, server: await startServer(app) };
}

/** One SSE frame as the server wrote it: whether it had its own `id:` line. */
interface Frame {
  event: string;
  id: number | undefined;
  data: AgentEvent;
}

/** The complete frames in `text` (the server writes `event:`, `id:`, `data:` lines and `: ping` comments, LF only). */
function framesOf(text: string): Frame[] {
  const frames: Frame[] = [];
  const blocks = text.split('\n\n');
  // The last piece is incomplete (or empty): a client dispatches only complete events.
  for (const block of blocks.slice(0, -1)) {
    let event = 'message';
    let id: number | undefined;
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = Number(line.slice(4));
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (data !== undefined) frames.push({ event, id, data: JSON.parse(data) as AgentEvent });
  }
  return frames;
}

/** A response's body, cut after `cut` bytes when given (the connection dropped there). */
async function bodyText(response: Response, cut: number | undefined): Promise<string> {
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (cut === undefined || size < cut) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(cut === undefined ? bytes : bytes.subarray(0, cut));
}

/** One step of a client: where it sends the request, where the connection drops, whether this response fails on its own. */
interface Step {
  instance: number;
  cut: number | undefined;
  failAfter: number | undefined;
  probeAhead: boolean;
}

const stepArbitrary = (instances: number): fc.Arbitrary<Step> =>
  fc.record({
    instance: fc.integer({ min: 0, max: instances - 1 }),
    cut: fc.option(fc.integer({ min: 1, max: 6000 }), { nil: undefined, freq: 4 }),
    failAfter: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined, freq: 3 }),
    probeAhead: fc.boolean(),
  });

/**
 * A client following one chat across drops: POST, then resumes with the last id it has, each on
 * the step's instance, until a logged terminal event. Checks every frame on the way.
 * @returns the id of the stream and the logged events it assembled
 */
async function followAcrossDrops(instances: readonly Instance[], question: string, steps: readonly Step[]): Promise<{ id: string; assembled: LoggedEvent[]; local: number }> {
  const assembled: LoggedEvent[] = [];
  /** Frames written to one response only (no id). */
  let local = 0;
  let streamId: string | undefined;
  const cursor = (): number => assembled.at(-1)?.id ?? 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    // Past the given steps, the client reads every response to its end, on the first instance.
    const step: Step = steps[attempt] ?? { instance: 0, cut: undefined, failAfter: undefined, probeAhead: false };
    const { server } = instances[step.instance]!;
    let response: Response;
    if (streamId === undefined) {
      response = await fetch(`${server.url}/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: question }] }),
      });
      expect(response.status).toBe(200);
      streamId = response.headers.get('x-stream-id')!;
    } else {
      if (step.probeAhead) {
        // Past the end of the log: 409, never clamped, never renumbered.
        const ahead = await fetch(`${server.url}/v1/streams/${streamId}`, { headers: { 'last-event-id': String(cursor() + 100_000) } });
        expect(ahead.status).toBe(409);
        expect(((await ahead.json()) as { error: { code: string } }).error.code).toBe('ahead_of_log');
      }
      pendingFault = step.failAfter;
      response = await fetch(`${server.url}/v1/streams/${streamId}`, { headers: { 'last-event-id': String(cursor()) } });
      pendingFault = undefined;
      expect(response.status).toBe(200);
      expect(response.headers.get('x-stream-id')).toBe(streamId);
    }
    const frames = framesOf(await bodyText(response, step.cut));
    for (const frame of frames) {
      expect(frame.event).toBe(frame.data.type);
      if (frame.id === undefined) {
        // Written to this response only (the injected store failure): an error, never a logged event.
        expect(frame.data).toMatchObject({ type: 'error', code: 'unavailable' });
        local++;
        continue;
      }
      // Resume rule: the events with an id greater than the one given, in order.
      expect(frame.id).toBe(cursor() + 1);
      assembled.push({ id: frame.id, event: frame.data });
      if (isTerminalEvent(frame.data)) return { id: streamId, assembled, local };
    }
  }
  throw new Error(`stream ${streamId ?? '?'} did not end within 200 responses`);
}

async function logOf(store: StreamStore, id: string): Promise<LoggedEvent[]> {
  const events: LoggedEvent[] = [];
  for await (const stored of store.read(id)) events.push(stored);
  return events;
}

/** The property, for a set of instances sharing `store` (read directly by the checker). */
function assembledEqualsLog(instances: () => readonly Instance[], checker: () => StreamStore, numRuns: number): Promise<void> {
  const count = (): number => instances().length;
  return fc.assert(
    fc.asyncProperty(fc.constantFrom(...QUESTIONS), fc.array(stepArbitrary(count()), { maxLength: 8 }), async (question, steps) => {
      const { id, assembled } = await followAcrossDrops(instances(), question, steps);
      const log = await logOf(checker(), id);
      // Ids contiguous from 1, none missing, none twice, the same events, one terminal at the end.
      expect(assembled.map((event) => event.id)).toEqual(log.map((_, index) => index + 1));
      expect(assembled).toEqual(log);
      expect(log.filter((stored) => isTerminalEvent(stored.event))).toEqual([log.at(-1)]);
    }),
    { numRuns },
  );
}

describe('resume after random drops, one instance (memory store)', () => {
  const store = createMemoryStore();
  let one: Instance;
  beforeAll(async () => {
    one = await instance(store);
  });
  afterAll(async () => {
    await one.app.shutdown({ drainMs: 0 });
    await one.server.close();
    await store.close();
  });

  it('the events a client assembles across its reconnections are the log', async () => {
    await assembledEqualsLog(() => [one], () => store, 20);
  }, 120_000);

  it('an error written to one response only has no id, and the resume after it skips nothing', async () => {
    const { id, assembled, local } = await followAcrossDrops([one], QUESTIONS[0]!, [
      { instance: 0, cut: 700, failAfter: undefined, probeAhead: false },
      // Replays from the client's id, fails after 5 events: an `error` frame with no id.
      { instance: 0, cut: undefined, failAfter: 5, probeAhead: true },
    ]);
    expect(local).toBe(1);
    expect(assembled).toEqual(await logOf(store, id));
  });
});

const redisAvailable = requireRedisServer();

describe.skipIf(!redisAvailable)('resume after random drops on a random instance (two apps on one Redis)', () => {
  let redis: RedisServer;
  const stores: StreamStore[] = [];
  const instances: Instance[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    for (let n = 0; n < 3; n++) stores.push(createRedisStore({ url: redis.url }));
    instances.push(await instance(stores[0]!), await instance(stores[1]!));
  }, 30_000);
  afterAll(async () => {
    for (const { app, server } of instances) {
      await app.shutdown({ drainMs: 0 });
      await server.close();
    }
    for (const store of stores) await store.close();
    await redis?.close();
  });

  it('the events a client assembles across its reconnections, each on either instance, are the log', async () => {
    await assembledEqualsLog(() => instances, () => stores[2]!, 15);
  }, 180_000);
});

describe('the formats that carry no ids', () => {
  const logged: LoggedEvent[] = [
    { id: 1, event: { type: 'message-start', messageId: 'm' } },
    { id: 2, event: { type: 'text-delta', id: 't', delta: 'Hi' } },
    { id: 3, event: { type: 'finish', finishReason: 'stop' } },
  ];
  const formats: Record<string, () => AgentFormat> = {
    'AI SDK UI stream': () => aiSdkUiStream(),
    'AG-UI': () => agUi({ threadId: 'th', runId: 'r' }),
    'OpenAI chunks': () => openaiChunks({ id: 'c', model: 'm', created: 0 }),
    NDJSON: () => agentNdjson(),
    text: () => agentText(),
  };
  it.each(Object.keys(formats))('%s writes the same bytes for a logged event as for the bare event: no id of its own, none made up', (name) => {
    const make = formats[name]!;
    const withIds = logged.map((item) => make().encode(item));
    const bare = logged.map((item) => make().encode(item.event));
    expect(withIds).toEqual(bare);
    expect(withIds.join('')).not.toMatch(/^id:/m);
  });
});
