import { describe, expect, it } from 'vitest';
import { ALL_EVENTS } from './__fixtures__/agent-events.ts';
import { AgentEventParseError, agentEventSchema, parseAgentEvent } from './schema.ts';
import { AGENT_EVENT_TYPES } from './types.ts';

describe('agentEventSchema', () => {
  it('accepts every event of every fixture sequence unchanged', () => {
    for (const event of ALL_EVENTS) expect(parseAgentEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
  });

  it('covers every wire name of DESIGN.md', () => {
    const covered = new Set(agentEventSchema.options.map((option) => option.shape.type.value));
    expect([...covered].sort()).toEqual([...AGENT_EVENT_TYPES].sort());
    expect(new Set(ALL_EVENTS.map((event) => event.type))).toEqual(new Set(AGENT_EVENT_TYPES));
  });

  it('strips keys the protocol does not define', () => {
    expect(parseAgentEvent({ type: 'text-delta', id: 't', delta: 'x', extra: 1 })).toEqual({ type: 'text-delta', id: 't', delta: 'x' });
  });

  it('rejects an unknown type', () => {
    expect(() => parseAgentEvent({ type: 'text-chunk', id: 't' })).toThrow(AgentEventParseError);
  });

  it('names the field at fault', () => {
    try {
      parseAgentEvent({ type: 'text-delta', id: 't', delta: 5 });
      expect.unreachable('a number delta must be rejected');
    } catch (error) {
      expect(error).toBeInstanceOf(AgentEventParseError);
      const parseError = error as AgentEventParseError;
      expect(parseError.path).toEqual(['delta']);
      expect(parseError.code).toBe('invalid_agent_event');
      expect(parseError.status).toBe(400);
      expect(parseError.message).toContain('"text-delta"');
      expect(parseError.message).toContain('`delta`');
    }
  });

  it('rejects what is not an object', () => {
    expect(() => parseAgentEvent('text-delta')).toThrow(AgentEventParseError);
    expect(() => parseAgentEvent(null)).toThrow(AgentEventParseError);
  });

  it('rejects progress going below zero and non-integer token counts', () => {
    expect(() => parseAgentEvent({ type: 'progress', done: -1 })).toThrow(AgentEventParseError);
    expect(() =>
      parseAgentEvent({ type: 'usage', inputTokens: 1.5, outputTokens: null, totalTokens: null, reasoningTokens: null, cachedInputTokens: null }),
    ).toThrow(AgentEventParseError);
  });
});
