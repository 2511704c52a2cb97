import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { streamingResponse } from '../core/streaming-response.ts';
import { ABORT_EVENTS, ERROR_EVENTS, REASONING_EVENTS, TEXT_EVENTS, TOOL_EVENTS, encodeAll, eventsThenThrow } from './__fixtures__/agent-events.ts';
import { agentText } from './agent-text.ts';

describe('agentText', () => {
  it('writes text deltas only', () => {
    expect(encodeAll(agentText(), TEXT_EVENTS)).toBe('Hello, "world"\n数字: 1 🎉');
  });

  it('leaves out reasoning and tool traffic', () => {
    expect(encodeAll(agentText(), REASONING_EVENTS)).toBe('Hi!');
    // Two text blocks (before and after the tool call) are set apart by a blank line.
    expect(encodeAll(agentText(), TOOL_EVENTS)).toBe('Let me check.\n\nIt is 18 °C and clear in Paris.');
  });

  it('has no in-band error signal', () => {
    expect(agentText().encodeError).toBeUndefined();
    expect(agentText().contentType).toBe('text/plain; charset=utf-8');
  });

  it('turns an error event into a thrown error carrying its code', () => {
    const format = agentText();
    expect(() => encodeAll(format, ERROR_EVENTS)).toThrow(SluiceError);
    expect(() => agentText().encode(ERROR_EVENTS.at(-1)!)).toThrow(expect.objectContaining({ code: 'provider_overloaded', status: 529 }));
    expect(() => agentText().encode(ABORT_EVENTS.at(-1)!)).toThrow(expect.objectContaining({ code: 'aborted' }));
  });

  it('aborts the transfer when an error event comes after the first byte', async () => {
    // The text leaves first (it is written at the next macrotask), then the error event comes.
    const errorAt = ERROR_EVENTS.findIndex((event) => event.type === 'error');
    const source = async function* () {
      yield* ERROR_EVENTS.slice(0, errorAt);
      await new Promise((resolve) => setTimeout(resolve, 5));
      yield* ERROR_EVENTS.slice(errorAt);
    };
    const response = await streamingResponse(source, { format: agentText() });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it('aborts the transfer when the source throws after the first byte', async () => {
    const response = await streamingResponse(eventsThenThrow(TEXT_EVENTS.slice(0, 4), new SluiceError('x', 'boom')), { format: agentText() });
    await expect(response.text()).rejects.toThrow();
  });

  it('gives a real HTTP error when the error event comes before any text', async () => {
    const response = await streamingResponse(ERROR_EVENTS.filter((event) => event.type !== 'text-delta'), { format: agentText() });
    expect(response.status).toBe(529);
    expect(await response.json()).toEqual({ error: { code: 'provider_overloaded', message: 'The model is overloaded, try again.' } });
  });

  it('answers an error event before any text with `errorStatus`: a server maps the code, not the upstream’s status', async () => {
    const seen: unknown[] = [];
    const errorStatus = (event: { code: string; status?: number }): number => {
      seen.push({ code: event.code, status: event.status });
      return 503;
    };
    const response = await streamingResponse(ERROR_EVENTS.filter((event) => event.type !== 'text-delta'), { format: agentText({ errorStatus }) });
    expect(response.status).toBe(503);
    expect(seen).toEqual([{ code: 'provider_overloaded', status: 529 }]);
    expect(await response.json()).toEqual({ error: { code: 'provider_overloaded', message: 'The model is overloaded, try again.' } });
  });
});
