import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { EventLog } from '../src/store/event-log.ts';
import { createMemoryStore } from '../src/store/memory.ts';

/** Reads every event from index `from` on, as a follower starting there does. */
function readFrom(log: EventLog, from: number): AgentEvent[] {
  const cursor = log.cursorAt(from);
  const out: AgentEvent[] = [];
  for (let index = from; index < log.length; index++) out.push(log.at(index, cursor));
  return out;
}

/** A seeded generator, so a failure names a sequence that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomEvents(next: () => number, count: number): AgentEvent[] {
  const ids = ['t1', 't2', 'r1'];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const events: AgentEvent[] = [];
  for (let n = 0; n < count; n++) {
    const roll = next();
    const id = pick(ids);
    if (roll < 0.45) events.push({ type: 'text-delta', id, delta: `w${n} ` });
    else if (roll < 0.6) events.push({ type: 'reasoning-delta', id, delta: `r${n}` });
    else if (roll < 0.68) events.push({ type: 'text-start', id });
    else if (roll < 0.74) events.push({ type: 'reasoning-start', id });
    else if (roll < 0.8) events.push({ type: 'text-end', id });
    else if (roll < 0.86) events.push({ type: 'data', name: 'note', value: { n } });
    else if (roll < 0.92) events.push({ type: 'tool-call', toolCallId: `c${n}`, toolName: 'search', input: { q: 'x' } });
    // A caller's extra field: kept whole, never dropped.
    else events.push({ type: 'text-delta', id, delta: `x${n}`, extra: n } as unknown as AgentEvent);
  }
  return events;
}

describe('EventLog', () => {
  it('reads back every event as it was appended, from every starting index', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const events = randomEvents(random(seed), 120);
      const log = new EventLog();
      for (const event of events) log.push(event);
      expect(log.length).toBe(events.length);
      for (let from = 0; from <= events.length; from++) {
        expect(readFrom(log, from), `seed ${seed}, from ${from}`).toEqual(events.slice(from));
      }
    }
  });

  it('keeps a delta of the open block as its bare string and a delta of another block whole', () => {
    const log = new EventLog();
    const events: AgentEvent[] = [
      { type: 'text-start', id: 'a' },
      { type: 'text-delta', id: 'a', delta: 'Hel' },
      { type: 'text-delta', id: 'a', delta: 'lo' },
      { type: 'reasoning-delta', id: 'a', delta: 'hm' },
      { type: 'text-delta', id: 'b', delta: '!' },
      { type: 'text-delta', id: 'b', delta: '?' },
    ];
    for (const event of events) log.push(event);
    // What is kept is private; what it reads back as is the contract.
    expect(readFrom(log, 0)).toEqual(events);
    expect(readFrom(log, 2)).toEqual(events.slice(2));
    expect(readFrom(log, 5)).toEqual([{ type: 'text-delta', id: 'b', delta: '?' }]);
  });

  it('keeps an event that only looks like a delta whole: no delta, a non-string delta, other key order', () => {
    const odd = [
      { type: 'text-delta', id: 'a' },
      { type: 'text-delta', id: 'a', delta: 42 },
      { id: 'a', type: 'text-delta', delta: 'x' },
      { type: 'text-delta', id: 'a', delta: 'y', toJSON: () => 'z' },
    ] as unknown as AgentEvent[];
    const log = new EventLog();
    const events: AgentEvent[] = [{ type: 'text-start', id: 'a' }, { type: 'text-delta', id: 'a', delta: 'ok' }, ...odd, { type: 'text-delta', id: 'a', delta: 'end' }];
    for (const event of events) log.push(event);
    for (let from = 0; from <= events.length; from++) {
      // As JSON too: a replay writes the same text as the live reader got, key order included.
      expect(readFrom(log, from).map((event) => JSON.stringify(event))).toEqual(events.slice(from).map((event) => JSON.stringify(event)));
    }
  });

  it('hands a live follower the appended event and a replaying one an equal event', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: 's' });
    const controller = new AbortController();
    const live = store.read('s', { signal: controller.signal })[Symbol.asyncIterator]();
    const start: AgentEvent = { type: 'text-start', id: 't' };
    const delta: AgentEvent = { type: 'text-delta', id: 't', delta: 'one' };
    const first = live.next();
    await writer.append(start);
    expect((await first).value).toEqual({ id: 1, event: start });
    const second = live.next();
    await writer.append(delta);
    const got = await second;
    expect(got.value.event).toBe(delta);
    expect(got.value.id).toBe(2);
    await writer.append({ type: 'text-delta', id: 't', delta: 'two' });
    await writer.append({ type: 'finish', finishReason: 'stop' });
    const replay: unknown[] = [];
    for await (const stored of store.read('s', { after: 1 })) replay.push(stored);
    expect(replay).toEqual([
      { id: 2, event: delta },
      { id: 3, event: { type: 'text-delta', id: 't', delta: 'two' } },
      { id: 4, event: { type: 'finish', finishReason: 'stop' } },
    ]);
    controller.abort();
    await store.close();
  });
});
