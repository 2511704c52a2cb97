import { describe, expect, it } from 'vitest';
import { ABORT_EVENTS, ERROR_EVENTS, RAG_EVENTS, REASONING_EVENTS, TEXT_EVENTS, TOOL_EVENTS, USAGE } from './__fixtures__/agent-events.ts';
import { accumulateAgentEvents, createMessageAccumulator } from './message-accumulator.ts';

describe('createMessageAccumulator', () => {
  it('rebuilds text, message ID, finish reason and usage', async () => {
    const message = await accumulateAgentEvents(TEXT_EVENTS);
    expect(message).toEqual({
      messageId: 'msg_1',
      model: 'local',
      text: 'Hello, "world"\n数字: 1 🎉',
      refusal: '',
      reasoning: '',
      toolCalls: [],
      sources: [],
      data: [],
      usage: USAGE,
      finishReason: 'stop',
      rawFinishReason: 'stop',
      ended: true,
    });
  });

  it('keeps reasoning apart from text', async () => {
    const message = await accumulateAgentEvents(REASONING_EVENTS);
    expect(message.reasoning).toBe('The user wants a greeting.');
    expect(message.text).toBe('Hi!');
  });

  it('rebuilds parallel tool calls: input text, final input, output and error', async () => {
    const message = await accumulateAgentEvents(TOOL_EVENTS);
    expect(message.toolCalls).toEqual([
      { toolCallId: 'call_1', toolName: 'weather', inputText: '{"city":"Paris"}', input: { city: 'Paris' }, output: { tempC: 18, sky: 'clear' } },
      { toolCallId: 'call_2', toolName: 'time', inputText: '{"zone":"Europe/Paris"}', input: { zone: 'Europe/Paris' }, errorText: 'time service unavailable' },
    ]);
    expect(message.text).toBe('Let me check.It is 18 °C and clear in Paris.');
  });

  it('gives the partial input of a tool call while its input streams', () => {
    const accumulator = createMessageAccumulator();
    for (const event of TOOL_EVENTS.slice(0, 10)) accumulator.push(event);
    expect(accumulator.message.toolCalls.map((call) => [call.inputText, call.partialInput])).toEqual([
      ['{"city":"Pa', { city: 'Pa' }],
      ['{"zone":', {}],
    ]);
    accumulator.push(TOOL_EVENTS[10]!);
    expect(accumulator.message.toolCalls[1]?.partialInput).toEqual({ zone: 'Europe/Paris' });
  });

  it('keeps input text that is not JSON without failing', () => {
    const accumulator = createMessageAccumulator();
    accumulator.push({ type: 'tool-call-start', toolCallId: 'c', toolName: 'shell' });
    accumulator.push({ type: 'tool-call-delta', toolCallId: 'c', delta: 'ls -la' });
    accumulator.push({ type: 'tool-call-delta', toolCallId: 'c', delta: ' /tmp' });
    expect(accumulator.message.toolCalls).toEqual([{ toolCallId: 'c', toolName: 'shell', inputText: 'ls -la /tmp' }]);
  });

  it('collects sources, the latest progress and data', async () => {
    const message = await accumulateAgentEvents(RAG_EVENTS);
    expect(message.sources.map((source) => source.id)).toEqual(['src_1', 'src_2']);
    expect(message.sources[0]).toEqual({ id: 'src_1', title: 'Sluice docs', url: 'https://example.com/docs', snippet: 'Streaming…', score: 0.92 });
    expect(message.progress).toEqual({ toolCallId: 'search', done: 2, total: 2, message: 'done' });
    expect(message.data).toEqual([{ name: 'chart', value: { series: [1, 2, 3] } }]);
  });

  it('records an error or an abort as the end of the stream', async () => {
    const failed = await accumulateAgentEvents(ERROR_EVENTS);
    expect(failed.error).toEqual({ code: 'provider_overloaded', message: 'The model is overloaded, try again.', retryable: true, status: 529 });
    expect(failed.text).toBe('Partial ans');
    expect(failed.ended).toBe(true);
    const aborted = await accumulateAgentEvents(ABORT_EVENTS);
    expect(aborted.abortReason).toBe('stopped by user');
    expect(aborted.reasoning).toBe('Thinking');
  });

  it('reads the same text again and again as deltas keep coming', () => {
    const accumulator = createMessageAccumulator();
    let expected = '';
    for (let i = 0; i < 50; i++) {
      const delta = `piece ${i}; `;
      accumulator.push({ type: 'text-delta', id: 't', delta });
      expected += delta;
      if (i % 7 === 0) expect(accumulator.message.text).toBe(expected);
    }
    expect(accumulator.message.text).toBe(expected);
    expect(accumulator.message.ended).toBe(false);
  });

  it('gives each read a fresh message object', () => {
    const accumulator = createMessageAccumulator();
    accumulator.push({ type: 'source', id: 's' });
    const first = accumulator.message;
    accumulator.push({ type: 'source', id: 't' });
    expect(first.sources).toHaveLength(1);
    expect(accumulator.message.sources).toHaveLength(2);
  });
});
