import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { streamingResponse } from '../core/streaming-response.ts';
import { createParser } from '../sse/parse.ts';
import type { SseEvent } from '../sse/types.ts';
import { ALL_EVENTS, TEXT_EVENTS, encodeAll, eventsThenThrow } from './__fixtures__/agent-events.ts';
import { agentSse } from './agent-sse.ts';
import { parseAgentEvent } from './schema.ts';
import type { AgentEvent } from './types.ts';

/** Parses SSE text fed in pieces of `size` characters with the project's spec parser. */
function parseSse(text: string, size: number): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size));
  parser.end();
  return events;
}

describe('agentSse', () => {
  it('writes event, id and data lines as one block per logged event, with the id the log gave it', () => {
    const format = agentSse();
    expect(format.encode({ id: 7, event: { type: 'text-delta', id: 't1', delta: 'Hi\n"there"' } })).toBe(
      'event: text-delta\nid: 7\ndata: {"type":"text-delta","id":"t1","delta":"Hi\\n\\"there\\""}\n\n',
    );
    expect(format.encode({ id: 8, event: { type: 'finish', finishReason: 'stop' } })).toBe('event: finish\nid: 8\ndata: {"type":"finish","finishReason":"stop"}\n\n');
  });

  it('never numbers events itself: a resumed response writes the log\'s ids, a bare event gets no id', () => {
    const format = agentSse();
    expect(format.encode({ id: 42, event: TEXT_EVENTS[0]! })).toContain('\nid: 42\n');
    expect(format.encode({ id: 43, event: TEXT_EVENTS[1]! })).toContain('\nid: 43\n');
    const bare = parseSse(encodeAll(agentSse(), ALL_EVENTS), 1 << 20);
    expect(bare.map((event) => event.id)).toEqual(ALL_EVENTS.map(() => ''));
    expect(agentSse().encode(TEXT_EVENTS[0]!)).not.toContain('id:');
  });

  it('refuses a logged event whose id is not an integer ≥ 1', () => {
    expect(() => agentSse().encode({ id: 0, event: TEXT_EVENTS[0]! })).toThrow(TypeError);
    expect(() => agentSse().encode({ id: 1.5, event: TEXT_EVENTS[0]! })).toThrow(TypeError);
  });

  it('refuses an event type outside the protocol instead of writing it into the event field', () => {
    const format = agentSse();
    expect(() => format.encode({ type: 'text\ndata: x' } as unknown as AgentEvent)).toThrow(TypeError);
  });

  it('round-trips every event through the spec parser, whatever the chunking', () => {
    const text = encodeAll(agentSse(), ALL_EVENTS);
    for (const size of [1, 3, 7, 64, text.length]) {
      const parsed = parseSse(text, size);
      expect(parsed.map((event) => event.event)).toEqual(ALL_EVENTS.map((event) => event.type));
      expect(parsed.map((event) => parseAgentEvent(JSON.parse(event.data)))).toEqual(ALL_EVENTS);
    }
  });

  it('writes no id on a local abort either', () => {
    const format = agentSse();
    format.encode({ id: 1, event: TEXT_EVENTS[0]! });
    expect(format.encodeAbort('stopped')).toBe('event: abort\ndata: {"type":"abort","reason":"stopped"}\n\n');
  });

  it('sends : ping as its heartbeat and the SSE content type', () => {
    const format = agentSse();
    expect(format.heartbeat).toBe(': ping\n\n');
    expect(format.contentType).toBe('text/event-stream; charset=utf-8');
  });

  it('encodes an error after the first byte as an error AgentEvent with no id: it is this response\'s only', async () => {
    const failure = new SluiceError('provider_failed', 'Upstream failed.', { status: 502 });
    const logged = TEXT_EVENTS.slice(0, 4).map((event, index) => ({ id: index + 1, event }));
    const response = await streamingResponse(eventsThenThrow(logged, failure), { format: agentSse() });
    expect(response.status).toBe(200);
    const parsed = parseSse(await response.text(), 5);
    // The parser reports the last event ID seen: the error leaves it at the last logged event.
    expect(parsed.map((event) => event.id)).toEqual(['1', '2', '3', '4', '4']);
    expect(await (await streamingResponse(eventsThenThrow(logged, failure), { format: agentSse() })).text()).toMatch(/event: error\ndata: /);
    const last = parsed.at(-1)!;
    expect(last.event).toBe('error');
    expect(parseAgentEvent(JSON.parse(last.data))).toEqual({ type: 'error', code: 'provider_failed', message: 'Upstream failed.', retryable: false });
  });
});
