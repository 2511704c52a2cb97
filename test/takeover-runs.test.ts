/**
 * The run manager's side of takeover, with a store whose claims and hand-overs the test drives:
 * drain hands resumable runs over (nothing more appended, the lease given up, done once another
 * producer holds them) and still drains the others as before; a claim continues the run from its
 * log through the writer it brings; a claim of a run this instance still produces (it stalled past
 * its lease) stops the old producer first.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createRunManager } from '../src/server/runs/run-manager.ts';
import type { TakeoverOutcome } from '../src/server/runs/takeover.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { StreamInfo, StreamStore, StreamWriter, TakeoverHandler } from '../src/store/types.ts';

const delta = (n: number): AgentEvent => ({ type: 'text-delta', id: 't', delta: `d${n}` });

/** A memory store whose writers can hand over (the token goes up once "another instance" claims) and whose claims the test makes. */
function handingStore(): { store: StreamStore; handedOver: string[]; claimAfterHandOver: boolean; handler: () => TakeoverHandler | undefined } {
  const memory = createMemoryStore();
  const handedOver: string[] = [];
  const bumped = new Set<string>();
  let handler: TakeoverHandler | undefined;
  const state = { claimAfterHandOver: true };
  const store: StreamStore = {
    kind: 'redis',
    read: (id, options) => memory.read(id, options),
    requestStop: (id, reason) => memory.requestStop(id, reason),
    attach: (id) => memory.attach(id),
    detachedSince: (id) => memory.detachedSince(id),
    setChatStream: (chatId, streamId, owner) => memory.setChatStream(chatId, streamId, owner),
    getChatStream: (chatId, owner) => memory.getChatStream(chatId, owner),
    publish: (topic, event) => memory.publish(topic, event),
    subscribe: (topic, options) => memory.subscribe(topic, options),
    openApproval: (id, approvalId) => memory.openApproval(id, approvalId),
    answerApproval: (id, approvalId, answer) => memory.answerApproval(id, approvalId, answer),
    waitApproval: (id, approvalId, options) => memory.waitApproval(id, approvalId, options),
    ready: () => memory.ready(),
    close: () => memory.close(),
    async create(options: Parameters<StreamStore['create']>[0]): Promise<StreamWriter> {
      const writer = await memory.create(options);
      return {
        id: writer.id,
        token: writer.token,
        append: (event: AgentEvent) => writer.append(event),
        onStop: (listener: (reason: string) => void) => writer.onStop(listener),
        close: () => writer.close(),
        async handOver() {
          handedOver.push(writer.id);
          if (state.claimAfterHandOver) setTimeout(() => bumped.add(writer.id), 50);
          return true;
        },
      };
    },
    async info(id: string): Promise<StreamInfo | undefined> {
      const info = await memory.info(id);
      return info === undefined ? undefined : { ...info, token: bumped.has(id) ? 2 : 1 };
    },
    onTakeover(next: TakeoverHandler) {
      handler = next;
      return () => (handler = undefined);
    },
  };
  return {
    store,
    handedOver,
    get claimAfterHandOver() {
      return state.claimAfterHandOver;
    },
    set claimAfterHandOver(value: boolean) {
      state.claimAfterHandOver = value;
    },
    handler: () => handler,
  };
}

/** A source that yields a delta every 20 ms until aborted, and says when it was aborted. */
function endless(aborted: string[], name: string) {
  return async function* source(signal: AbortSignal): AsyncGenerator<AgentEvent> {
    try {
      for (let n = 1; ; n++) {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 20);
          signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
        });
        yield delta(n);
      }
    } finally {
      if (signal.aborted) aborted.push(name);
    }
  };
}

async function logOf(store: StreamStore, id: string): Promise<AgentEvent[]> {
  const info = await store.info(id);
  const events: AgentEvent[] = [];
  if (info === undefined || info.lastId === 0) return events;
  for await (const stored of store.read(id)) {
    events.push(stored.event);
    if (stored.id >= info.lastId) break;
  }
  return events;
}

describe('the run manager takes runs over and hands them over', () => {
  it('drain hands a resumable run over at once (no terminal event, the lease given up) and cuts the others at the deadline as before', async () => {
    const fake = handingStore();
    const outcomes: [TakeoverOutcome, number][] = [];
    const runs = createRunManager({
      store: fake.store,
      onError: () => {},
      takeover: { maxTakeovers: 2, resume: () => endless([], 'resumed'), onOutcome: (outcome, count) => outcomes.push([outcome, count]) },
    });
    const aborted: string[] = [];
    const resumable = await runs.start({ source: endless(aborted, 'resumable'), request: { kind: 'agent', messages: [] }, detachable: false });
    const plain = await runs.start({ source: endless(aborted, 'plain'), detachable: false });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drainMs = 1500;
    const startedAt = performance.now();
    await runs.drain(drainMs);
    const took = performance.now() - startedAt;
    expect(fake.handedOver).toEqual([resumable.id]);
    expect(aborted).toContain('resumable');
    // The resumable run's log ends without a terminal event: its next producer goes on from there.
    const handed = await logOf(fake.store, resumable.id);
    expect(handed.length).toBeGreaterThan(0);
    expect(handed.every((event) => event.type === 'text-delta')).toBe(true);
    expect((await fake.store.info(resumable.id))?.state).toBe('running');
    // The other one was cut with `abort` reason `shutdown` at the deadline, as without takeover.
    expect((await logOf(fake.store, plain.id)).at(-1)).toEqual({ type: 'abort', reason: 'shutdown' });
    expect(took).toBeGreaterThanOrEqual(drainMs - 50);
    expect(outcomes).toEqual([['handed_over', 1]]);
    expect(runs.active).toBe(0);
    expect(fake.handler()).toBeUndefined();
  });

  it('drain with only resumable runs is over once each has a new producer, not at the deadline', async () => {
    const fake = handingStore();
    const runs = createRunManager({ store: fake.store, onError: () => {}, takeover: { maxTakeovers: 2, resume: () => endless([], 'x') } });
    await runs.start({ source: endless([], 'a'), request: { kind: 'agent', messages: [] }, detachable: false });
    await runs.start({ source: endless([], 'b'), request: { kind: 'agent', messages: [] }, detachable: false });
    const startedAt = performance.now();
    await runs.drain(20_000);
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(fake.handedOver).toHaveLength(2);
  });

  it('with SLUICE_MAX_TAKEOVERS 0 (maxTakeovers 0) no request is stored and drain does not hand over', async () => {
    const fake = handingStore();
    const runs = createRunManager({ store: fake.store, onError: () => {}, takeover: { maxTakeovers: 0, resume: () => endless([], 'x') } });
    const run = await runs.start({ source: endless([], 'a'), request: { kind: 'agent', messages: [] }, detachable: false });
    await runs.drain(200);
    expect(fake.handedOver).toEqual([]);
    expect((await logOf(fake.store, run.id)).at(-1)).toEqual({ type: 'abort', reason: 'shutdown' });
  });

  it('a claim continues the run through the writer it brings, from the events of its log; a run still produced here is stopped first', async () => {
    const fake = handingStore();
    const seen: { request: unknown; events: readonly AgentEvent[] }[] = [];
    const outcomes: TakeoverOutcome[] = [];
    const runs = createRunManager({
      store: fake.store,
      onError: () => {},
      takeover: {
        maxTakeovers: 2,
        resume: (request, events) => {
          seen.push({ request, events });
          return async function* () {
            yield { type: 'step-start', step: 1, takeover: true };
            yield { type: 'finish', finishReason: 'stop' };
          };
        },
        onOutcome: (outcome) => outcomes.push(outcome),
      },
    });
    const aborted: string[] = [];
    const request = { kind: 'agent', messages: [{ role: 'user', content: 'hi' }] };
    const run = await runs.start({ source: endless(aborted, 'stalled'), request, detachable: false });
    await new Promise((resolve) => setTimeout(resolve, 70));
    const lastId = (await fake.store.info(run.id))!.lastId;
    // The claim brings a writer of the new token: here, one that records what it is given.
    const appended: AgentEvent[] = [];
    const writer: StreamWriter = {
      id: run.id,
      token: 2,
      append: async (event) => (appended.push(event), lastId + appended.length),
      onStop: () => () => {},
      close: async () => {},
    };
    fake.handler()!.claimed({ info: (await fake.store.info(run.id))!, writer, request, lastId, takeovers: 1, maxTakeovers: 2 });
    await run.done;
    expect(aborted).toEqual(['stalled']);
    await expect.poll(() => appended.length).toBe(2);
    expect(appended).toEqual([{ type: 'step-start', step: 1, takeover: true }, { type: 'finish', finishReason: 'stop' }]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.request).toEqual(request);
    expect(seen[0]!.events.length).toBeGreaterThanOrEqual(lastId);
    expect(outcomes).toEqual(['resumed']);
    await expect.poll(() => runs.active).toBe(0);
  });

  it('a claim whose request cannot be continued here ends the run with producer_lost (outcome failed)', async () => {
    const fake = handingStore();
    const outcomes: TakeoverOutcome[] = [];
    const runs = createRunManager({
      store: fake.store,
      onError: () => {},
      takeover: {
        maxTakeovers: 2,
        resume: () => {
          throw new TypeError('no such model here');
        },
        onOutcome: (outcome) => outcomes.push(outcome),
      },
    });
    const writer = await fake.store.create({ id: randomUUID() });
    const appended: AgentEvent[] = [];
    const claimWriter: StreamWriter = { id: writer.id, token: 2, append: async (event) => (appended.push(event), 1), onStop: () => () => {}, close: async () => {} };
    fake.handler()!.claimed({ info: (await fake.store.info(writer.id))!, writer: claimWriter, request: { kind: 'agent' }, lastId: 0, takeovers: 1, maxTakeovers: 2 });
    await expect.poll(() => outcomes).toEqual(['failed']);
    expect(appended).toEqual([{ type: 'error', code: 'producer_lost', message: expect.any(String), retryable: true }]);
    expect(runs.active).toBe(0);
  });
});
