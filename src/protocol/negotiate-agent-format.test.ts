import { describe, expect, it } from 'vitest';
import { negotiateAgentFormat, pickAgentFormat } from './negotiate-agent-format.ts';

describe('pickAgentFormat', () => {
  it.each([
    [null, 'sse'],
    ['', 'sse'],
    ['*/*', 'sse'],
    ['text/event-stream', 'sse'],
    ['application/json', 'sse'],
    ['text/plain', 'text'],
    ['TEXT/PLAIN; charset=utf-8', 'text'],
    ['application/x-ndjson', 'ndjson'],
    ['application/ndjson', 'ndjson'],
    ['text/plain, */*;q=0.1', 'text'],
    ['text/plain, */*', 'text'],
    ['text/plain;q=0.5, application/x-ndjson', 'ndjson'],
    ['text/plain;q=0.9, text/event-stream', 'sse'],
    ['text/*', 'sse'],
    ['text/*, text/event-stream;q=0', 'text'],
    ['text/plain;q=0', 'sse'],
    ['application/x-ndjson;q=0.2, text/plain;q=0.8', 'text'],
  ] as const)('Accept %j → %s', (accept, expected) => {
    expect(pickAgentFormat(accept)).toBe(expected);
  });
});

describe('negotiateAgentFormat', () => {
  it('returns a ready format of the picked kind', () => {
    expect(negotiateAgentFormat('text/plain').contentType).toBe('text/plain; charset=utf-8');
    expect(negotiateAgentFormat('application/x-ndjson').contentType).toBe('application/x-ndjson');
    const sse = negotiateAgentFormat(null);
    expect(sse.contentType).toBe('text/event-stream; charset=utf-8');
    expect(sse.encode({ id: 9, event: { type: 'abort' } })).toBe('event: abort\nid: 9\ndata: {"type":"abort"}\n\n');
  });
});
