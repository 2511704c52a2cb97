import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { streamingResponse } from '../core/streaming-response.ts';
import { ALL_EVENTS, TEXT_EVENTS, encodeAll, eventsThenThrow } from './__fixtures__/agent-events.ts';
import { agentNdjson } from './agent-ndjson.ts';
import { parseAgentEvent } from './schema.ts';

describe('agentNdjson', () => {
  it('writes one event object per line', () => {
    expect(agentNdjson().encode({ type: 'text-delta', id: 't', delta: 'a\nb' })).toBe('{"type":"text-delta","id":"t","delta":"a\\nb"}\n');
    expect(agentNdjson().contentType).toBe('application/x-ndjson');
  });

  it('round-trips every event: encode, split on LF, parse, same events', () => {
    const lines = encodeAll(agentNdjson(), ALL_EVENTS).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => parseAgentEvent(JSON.parse(line)))).toEqual(ALL_EVENTS);
  });

  it('ends with an error event line when the source fails after the first byte', async () => {
    const failure = new SluiceError('provider_failed', 'Upstream failed.', { status: 502 });
    const response = await streamingResponse(eventsThenThrow(TEXT_EVENTS.slice(0, 3), failure), { format: agentNdjson() });
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(parseAgentEvent(JSON.parse(lines[3]!))).toEqual({ type: 'error', code: 'provider_failed', message: 'Upstream failed.', retryable: false });
  });
});
