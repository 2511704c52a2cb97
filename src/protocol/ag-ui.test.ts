import { EventSchema } from '@ag-ui/core/schemas';
import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { HttpAgent } from '@ag-ui/client';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { streamingResponse } from '../core/streaming-response.ts';
import { createParser } from '../sse/parse.ts';
import {
  ABORT_EVENTS,
  CLIENT_TOOL_EVENTS,
  ERROR_EVENTS,
  RAG_EVENTS,
  REASONING_EVENTS,
  SEQUENCES,
  TEXT_EVENTS,
  TOOL_EVENTS,
  USAGE,
  encodeAll,
  eventsThenThrow,
} from './__fixtures__/agent-events.ts';
import { agUi } from './ag-ui.ts';
import type { AgentEvent } from './types.ts';

const IDS = { threadId: 'thread_1', runId: 'run_1' };

/** The AG-UI events of an encoded stream, each checked by @ag-ui/core's own schema. */
function decode(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const parser = createParser({
    onEvent: (event) => {
      const parsed = EventSchema.safeParse(JSON.parse(event.data));
      if (!parsed.success) throw new Error(`AG-UI schema rejects ${event.data}: ${parsed.error.message}`);
      events.push(JSON.parse(event.data) as Record<string, unknown>);
    },
  });
  parser.feed(text);
  parser.end();
  return events;
}

/** Runs @ag-ui/client's HttpAgent against the codec's response: it parses, verifies and applies every event. */
async function runHttpAgent(source: Iterable<AgentEvent> | AsyncIterable<AgentEvent> | ((input: { threadId: string; runId: string }) => Response)) {
  const seen: BaseEvent[] = [];
  const agent = new HttpAgent({
    url: 'http://agent.test/v1/ag-ui',
    threadId: IDS.threadId,
    fetch: async (_url, init) => {
      const input = JSON.parse(String(init.body)) as { threadId: string; runId: string };
      if (typeof source === 'function') return source(input);
      return streamingResponse(source, { format: agUi({ threadId: input.threadId, runId: input.runId }) });
    },
  });
  agent.subscribe({ onEvent: ({ event }) => void seen.push(event) });
  const result = await agent.runAgent({ runId: IDS.runId });
  return { seen, newMessages: result.newMessages as Message[], agent };
}

describe('agUi', () => {
  it('gives events every @ag-ui/core schema accepts, for every sequence', () => {
    for (const events of Object.values(SEQUENCES)) {
      const decoded = decode(encodeAll(agUi(IDS), events));
      expect(decoded[0]).toEqual({ type: EventType.RUN_STARTED, ...IDS });
    }
  });

  it('maps a text answer to run, step and text message events', () => {
    expect(decode(encodeAll(agUi(IDS), TEXT_EVENTS))).toEqual([
      { type: 'RUN_STARTED', ...IDS },
      { type: 'STEP_STARTED', stepName: 'step-0' },
      { type: 'TEXT_MESSAGE_START', messageId: 't1', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 't1', delta: 'Hello' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 't1', delta: ', "world"' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 't1', delta: '\n数字: 1 🎉' },
      { type: 'TEXT_MESSAGE_END', messageId: 't1' },
      { type: 'STEP_FINISHED', stepName: 'step-0' },
      { type: 'RUN_FINISHED', ...IDS, outcome: { type: 'success' }, usage: [USAGE] },
    ]);
  });

  it('maps thinking to reasoning events, the signature to an encrypted value', () => {
    const decoded = decode(encodeAll(agUi(IDS), REASONING_EVENTS));
    expect(decoded.slice(1, 7)).toEqual([
      { type: 'REASONING_START', messageId: 'r1' },
      { type: 'REASONING_MESSAGE_START', messageId: 'r1', role: 'reasoning' },
      { type: 'REASONING_MESSAGE_CONTENT', messageId: 'r1', delta: 'The user wants ' },
      { type: 'REASONING_MESSAGE_CONTENT', messageId: 'r1', delta: 'a greeting.' },
      { type: 'REASONING_MESSAGE_END', messageId: 'r1' },
      { type: 'REASONING_ENCRYPTED_VALUE', subtype: 'message', entityId: 'r1', encryptedValue: 'sig_abc' },
    ]);
    expect(decoded[7]).toEqual({ type: 'REASONING_END', messageId: 'r1' });
  });

  it('maps parallel tool calls to start, interleaved args, end and results', () => {
    const decoded = decode(encodeAll(agUi(IDS), TOOL_EVENTS)).filter((event) => String(event.type).startsWith('TOOL_CALL'));
    expect(decoded).toEqual([
      { type: 'TOOL_CALL_START', toolCallId: 'call_1', toolCallName: 'weather', parentMessageId: 't1' },
      { type: 'TOOL_CALL_START', toolCallId: 'call_2', toolCallName: 'time', parentMessageId: 't1' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_1', delta: '{"ci' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_2', delta: '{"zone":' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_1', delta: 'ty":"Pa' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_2', delta: '"Europe/Paris"}' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_1', delta: 'ris"}' },
      { type: 'TOOL_CALL_END', toolCallId: 'call_1' },
      { type: 'TOOL_CALL_END', toolCallId: 'call_2' },
      { type: 'TOOL_CALL_RESULT', messageId: 'call_1-result', toolCallId: 'call_1', content: '{"tempC":18,"sky":"clear"}', role: 'tool' },
      { type: 'TOOL_CALL_RESULT', messageId: 'call_2-result', toolCallId: 'call_2', content: '{"error":"time service unavailable"}', role: 'tool' },
    ]);
  });

  it('names tool calls left to the client as pending when the run finishes for tool calls', () => {
    const decoded = decode(encodeAll(agUi(IDS), CLIENT_TOOL_EVENTS));
    expect(decoded.at(-1)).toEqual({ type: 'RUN_FINISHED', ...IDS, outcome: { type: 'success', pendingToolCallIds: ['call_a', 'call_b'] }, usage: [USAGE] });
  });

  it('sends sources, progress and data as CUSTOM events', () => {
    const custom = decode(encodeAll(agUi(IDS), RAG_EVENTS)).filter((event) => event.type === 'CUSTOM');
    expect(custom).toEqual([
      { type: 'CUSTOM', name: 'progress', value: { toolCallId: 'search', done: 0, total: 2, message: 'searching' } },
      { type: 'CUSTOM', name: 'source', value: { id: 'src_1', title: 'Sluice docs', url: 'https://example.com/docs', snippet: 'Streaming…', score: 0.92 } },
      { type: 'CUSTOM', name: 'progress', value: { toolCallId: 'search', done: 1, total: 2 } },
      { type: 'CUSTOM', name: 'source', value: { id: 'src_2', title: 'Internal note', snippet: 'Backpressure is pull-based.' } },
      { type: 'CUSTOM', name: 'progress', value: { toolCallId: 'search', done: 2, total: 2, message: 'done' } },
      { type: 'CUSTOM', name: 'chart', value: { series: [1, 2, 3] } },
    ]);
  });

  it('ends an error event with RUN_ERROR after ending the open message', () => {
    expect(decode(encodeAll(agUi(IDS), ERROR_EVENTS)).slice(-2)).toEqual([
      { type: 'TEXT_MESSAGE_END', messageId: 't1' },
      { type: 'RUN_ERROR', message: 'The model is overloaded, try again.', code: 'provider_overloaded' },
    ]);
  });

  it('ends an abort as a cancelled run', () => {
    expect(decode(encodeAll(agUi(IDS), ABORT_EVENTS)).slice(-4)).toEqual([
      { type: 'TEXT_MESSAGE_END', messageId: 't1' },
      { type: 'REASONING_MESSAGE_END', messageId: 'r1' },
      { type: 'REASONING_END', messageId: 'r1' },
      { type: 'RUN_FINISHED', ...IDS, outcome: { type: 'cancelled' } },
    ]);
  });

  it('is read by @ag-ui/client HttpAgent: text, reasoning and tool calls become messages', async () => {
    const { newMessages } = await runHttpAgent([...REASONING_EVENTS.slice(0, -1), ...TOOL_EVENTS.slice(1)]);
    const assistant = newMessages.filter((message) => message.role === 'assistant');
    expect(assistant.map((message) => message.content)).toContain('Let me check.');
    expect(assistant.flatMap((message) => ('toolCalls' in message ? (message.toolCalls ?? []) : []))).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_2', type: 'function', function: { name: 'time', arguments: '{"zone":"Europe/Paris"}' } },
    ]);
    const tool = newMessages.filter((message) => message.role === 'tool');
    expect(tool.map((message) => [message.toolCallId, message.content])).toEqual([
      ['call_1', '{"tempC":18,"sky":"clear"}'],
      ['call_2', '{"error":"time service unavailable"}'],
    ]);
    expect(newMessages.some((message) => message.role === 'reasoning')).toBe(true);
  });

  it('is read by @ag-ui/client HttpAgent: sources, progress and data arrive as custom events', async () => {
    const { seen, newMessages } = await runHttpAgent(RAG_EVENTS);
    expect(seen.filter((event) => event.type === EventType.CUSTOM)).toHaveLength(6);
    expect(newMessages.at(-1)?.content).toBe('Per the docs [1], it is pull-based [2].');
  });

  it('is read by @ag-ui/client HttpAgent: an error thrown after the first byte ends the run with RUN_ERROR', async () => {
    const failure = new SluiceError('provider_failed', 'Upstream failed.', { status: 502 });
    const { seen, newMessages } = await runHttpAgent(eventsThenThrow(TEXT_EVENTS.slice(0, 4), failure));
    expect(seen.at(-1)).toEqual({ type: 'RUN_ERROR', message: 'Upstream failed.', code: 'provider_failed' });
    expect(newMessages).toEqual([{ id: 't1', role: 'assistant', content: 'Hello' }]);
  });

  it('gives each text part its own message, even when a provider reuses a part ID', () => {
    const starts = decode(encodeAll(agUi(IDS), [...TEXT_EVENTS.slice(2, 7), ...TEXT_EVENTS.slice(2, 7)])).filter(
      (event) => event.type === 'TEXT_MESSAGE_START',
    );
    expect(starts.map((event) => event.messageId)).toEqual(['t1', 't1-2']);
  });

  it('writes nothing after the run ended', () => {
    const format = agUi(IDS);
    encodeAll(format, TEXT_EVENTS);
    expect(format.encode({ type: 'text-delta', id: 't9', delta: 'late' })).toBe('');
    expect(format.encodeError!({ code: 'x', message: 'late' })).toBe('');
  });

  it('is read by @ag-ui/client HttpAgent with heartbeats between events', async () => {
    const { newMessages } = await runHttpAgent((input) => {
      const format = agUi(input);
      const text = TEXT_EVENTS.map((event) => format.encode(event) as string).join(format.heartbeat);
      return new Response(text, { headers: { 'content-type': format.contentType } });
    });
    expect(newMessages).toEqual([{ id: 't1', role: 'assistant', content: 'Hello, "world"\n数字: 1 🎉' }]);
  });

  it('sends a tool call whose start never came whole, never arguments of an unopened call', async () => {
    const events: AgentEvent[] = [
      { type: 'tool-call-delta', toolCallId: 'c', delta: '{"a":' },
      { type: 'tool-call', toolCallId: 'c', toolName: 'lookup', input: { a: 1 } },
      { type: 'finish', finishReason: 'tool-calls' },
    ];
    expect(decode(encodeAll(agUi(IDS), events)).slice(1, 4)).toEqual([
      { type: 'TOOL_CALL_START', toolCallId: 'c', toolCallName: 'lookup' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'c', delta: '{"a":1}' },
      { type: 'TOOL_CALL_END', toolCallId: 'c' },
    ]);
    const { newMessages } = await runHttpAgent(events);
    expect(newMessages).toMatchObject([{ role: 'assistant', toolCalls: [{ id: 'c', function: { name: 'lookup', arguments: '{"a":1}' } }] }]);
  });
});
