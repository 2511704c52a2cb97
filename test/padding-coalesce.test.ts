/**
 * Coalescing deltas over a short window (the timing side of token-length padding): deltas of one
 * part that arrive within the window become one event, the text is unchanged, other events pass
 * in order, and stopping the consumer stops the source.
 */
import { describe, expect, it } from 'vitest';
import { coalesceDeltas } from '../src/protocol/coalesce-deltas.ts';
import type { AgentEvent } from '../src/protocol/types.ts';

/** A source that yields each event after waiting `gaps[i]` ms (0: at once). */
async function* paced(events: AgentEvent[], gaps: number[], state: { finished: boolean }): AsyncGenerator<AgentEvent> {
  try {
    for (const [i, event] of events.entries()) {
      if ((gaps[i] ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, gaps[i]));
      yield event;
    }
  } finally {
    state.finished = true;
  }
}

async function collect(source: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const event of source) out.push(event);
  return out;
}

const delta = (text: string, id = 't'): AgentEvent => ({ type: 'text-delta', id, delta: text });

describe('coalesceDeltas', () => {
  it('joins the deltas of one part that come within the window, and keeps the order of the rest', async () => {
    const events: AgentEvent[] = [
      { type: 'text-start', id: 't' },
      delta('Hel'),
      delta('lo'),
      delta(', '),
      { type: 'tool-call-delta', toolCallId: 'c', delta: '{"a"' },
      { type: 'tool-call-delta', toolCallId: 'c', delta: ':1}' },
      delta('wor'),
      delta('ld', 'u'),
      { type: 'text-end', id: 't' },
    ];
    const out = await collect(coalesceDeltas(paced(events, [], { finished: false }), { windowMs: 1000 }));
    expect(out).toEqual([
      { type: 'text-start', id: 't' },
      delta('Hello, '),
      { type: 'tool-call-delta', toolCallId: 'c', delta: '{"a":1}' },
      delta('wor'),
      delta('ld', 'u'),
      { type: 'text-end', id: 't' },
    ]);
  });

  it('sends a run when its window closes, before the next delta arrives', async () => {
    const state = { finished: false };
    const source = coalesceDeltas(paced([delta('a'), delta('b'), delta('c')], [0, 0, 300], state), { windowMs: 20 });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toEqual(delta('ab'));
    const second = await iterator.next();
    expect(second.value).toEqual(delta('c'));
    expect((await iterator.next()).done).toBe(true);
    expect(state.finished).toBe(true);
  });

  it('stops the source when the consumer stops', async () => {
    const state = { finished: false };
    for await (const event of coalesceDeltas(paced([{ type: 'text-start', id: 't' }, delta('a'), delta('b')], [], state), { windowMs: 10 })) {
      expect(event.type).toBe('text-start');
      break;
    }
    expect(state.finished).toBe(true);
  });

  it('refuses a bad window', async () => {
    await expect(coalesceDeltas(paced([], [], { finished: false }), { windowMs: -1 }).next()).rejects.toThrow(RangeError);
  });
});
