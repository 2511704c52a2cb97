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
  it('writes event, id and data lines as one block per event', () => {
    const format = agentSse();
    expect(format.encode({ type: 'text-delta', id: 't1', delta: 'Hi\n"there"' })).toBe(
      'event: text-delta\nid: 1\ndata: {"type":"text-delta","id":"t1","delta":"Hi\\n\\"there\\""}\n\n',
    );
    expect(format.encode({ type: 'finish', finishReason: 'stop' })).toBe('event: finish\nid: 2\ndata: {"type":"finish","finishReason":"stop"}\n\n');
  });

  it('numbers events 1, 2, 3 … without skipping, fresh for each format', () => {
    const text = encodeAll(agentSse(), ALL_EVENTS);
    const ids = parseSse(text, 1 << 20).map((event) => Number(event.id));
    expect(ids).toEqual(ALL_EVENTS.map((_, index) => index + 1));
    expect(agentSse().encode(TEXT_EVENTS[0]!)).toContain('\nid: 1\n');
  });

  it('continues numbering from firstId for a resumed stream', () => {
    const format = agentSse({ firstId: 42 });
    expect(format.encode(TEXT_EVENTS[0]!)).toContain('\nid: 42\n');
    expect(format.encode(TEXT_EVENTS[1]!)).toContain('\nid: 43\n');
  });

  it('rejects a firstId that is not a non-negative integer at the call', () => {
    expect(() => agentSse({ firstId: -1 })).toThrow(RangeError);
    expect(() => agentSse({ firstId: 1.5 })).toThrow(RangeError);
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

  it('sends : ping as its heartbeat and the SSE content type', () => {
    const format = agentSse();
    expect(format.heartbeat).toBe(': ping\n\n');
    expect(format.contentType).toBe('text/event-stream; charset=utf-8');
  });

  it('encodes an error after the first byte as an error AgentEvent with the next id', async () => {
    const failure = new SluiceError('provider_failed', 'Upstream failed.', { status: 502 });
    const response = await streamingResponse(eventsThenThrow(TEXT_EVENTS.slice(0, 4), failure), { format: agentSse() });
    expect(response.status).toBe(200);
    const parsed = parseSse(await response.text(), 5);
    expect(parsed.map((event) => event.id)).toEqual(['1', '2', '3', '4', '5']);
    const last = parsed.at(-1)!;
    expect(last.event).toBe('error');
    expect(parseAgentEvent(JSON.parse(last.data))).toEqual({ type: 'error', code: 'provider_failed', message: 'Upstream failed.', retryable: false });
  });
});
