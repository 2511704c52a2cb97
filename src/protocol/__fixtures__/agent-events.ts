/**
 * Representative agent event sequences shared by the codec tests and the codec bench.
 *
 * @module
 */
import type { AgentEvent, Usage } from '../types.ts';

/** Usage as a provider reports it. */
export const USAGE: Usage = { inputTokens: 12, outputTokens: 34, totalTokens: 46, reasoningTokens: 5, cachedInputTokens: 2 };

/** A plain answer, with text that needs escaping (quotes, newline, CJK, emoji). */
export const TEXT_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_1', model: 'local' },
  { type: 'step-start', step: 0 },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Hello' },
  { type: 'text-delta', id: 't1', delta: ', "world"' },
  { type: 'text-delta', id: 't1', delta: '\n数字: 1 🎉' },
  { type: 'text-end', id: 't1' },
  { type: 'step-finish', step: 0, finishReason: 'stop' },
  { type: 'usage', ...USAGE },
  { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' },
];

/** Visible thinking with a signature, then the answer. */
export const REASONING_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_2' },
  { type: 'reasoning-start', id: 'r1' },
  { type: 'reasoning-delta', id: 'r1', delta: 'The user wants ' },
  { type: 'reasoning-delta', id: 'r1', delta: 'a greeting.' },
  { type: 'reasoning-end', id: 'r1', signature: 'sig_abc' },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Hi!' },
  { type: 'text-end', id: 't1' },
  { type: 'finish', finishReason: 'stop', rawFinishReason: 'end_turn', usage: USAGE },
];

/** Two tool calls streamed in parallel (interleaved input fragments), one result and one error, then a second step. */
export const TOOL_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_3' },
  { type: 'step-start', step: 0 },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Let me check.' },
  { type: 'text-end', id: 't1' },
  { type: 'tool-call-start', toolCallId: 'call_1', toolName: 'weather' },
  { type: 'tool-call-start', toolCallId: 'call_2', toolName: 'time' },
  { type: 'tool-call-delta', toolCallId: 'call_1', delta: '{"ci' },
  { type: 'tool-call-delta', toolCallId: 'call_2', delta: '{"zone":' },
  { type: 'tool-call-delta', toolCallId: 'call_1', delta: 'ty":"Pa' },
  { type: 'tool-call-delta', toolCallId: 'call_2', delta: '"Europe/Paris"}' },
  { type: 'tool-call-delta', toolCallId: 'call_1', delta: 'ris"}' },
  { type: 'tool-call', toolCallId: 'call_1', toolName: 'weather', input: { city: 'Paris' } },
  { type: 'tool-call', toolCallId: 'call_2', toolName: 'time', input: { zone: 'Europe/Paris' } },
  { type: 'step-finish', step: 0, finishReason: 'tool-calls' },
  { type: 'tool-result', toolCallId: 'call_1', toolName: 'weather', output: { tempC: 18, sky: 'clear' } },
  { type: 'tool-error', toolCallId: 'call_2', toolName: 'time', message: 'time service unavailable' },
  { type: 'step-start', step: 1 },
  { type: 'text-start', id: 't2' },
  { type: 'text-delta', id: 't2', delta: 'It is 18 °C and clear in Paris.' },
  { type: 'text-end', id: 't2' },
  { type: 'step-finish', step: 1, finishReason: 'stop' },
  { type: 'finish', finishReason: 'stop' },
];

/** A tool call left for the client (an OpenAI gateway answer): the stream ends with `tool-calls`. */
export const CLIENT_TOOL_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_4' },
  { type: 'tool-call-start', toolCallId: 'call_a', toolName: 'lookup' },
  { type: 'tool-call-delta', toolCallId: 'call_a', delta: '{"q":' },
  { type: 'tool-call-delta', toolCallId: 'call_a', delta: '"sluice"}' },
  { type: 'tool-call', toolCallId: 'call_a', toolName: 'lookup', input: { q: 'sluice' } },
  { type: 'tool-call', toolCallId: 'call_b', toolName: 'lookup', input: { q: 'whole' } },
  { type: 'usage', ...USAGE },
  { type: 'finish', finishReason: 'tool-calls', rawFinishReason: 'tool_calls' },
];

/** RAG sources as they are found, progress, named data, then the answer. */
export const RAG_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_5' },
  { type: 'progress', toolCallId: 'search', done: 0, total: 2, message: 'searching' },
  { type: 'source', id: 'src_1', title: 'Sluice docs', url: 'https://example.com/docs', snippet: 'Streaming…', score: 0.92 },
  { type: 'progress', toolCallId: 'search', done: 1, total: 2 },
  { type: 'source', id: 'src_2', title: 'Internal note', snippet: 'Backpressure is pull-based.' },
  { type: 'progress', toolCallId: 'search', done: 2, total: 2, message: 'done' },
  { type: 'data', name: 'chart', value: { series: [1, 2, 3] } },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Per the docs [1], it is pull-based [2].' },
  { type: 'text-end', id: 't1' },
  { type: 'finish', finishReason: 'stop' },
];

/** A provider error in the middle of the answer. */
export const ERROR_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_6' },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Partial ans' },
  {
    type: 'error',
    code: 'provider_overloaded',
    message: 'The model is overloaded, try again.',
    retryable: true,
    status: 529,
    providerType: 'overloaded_error',
    providerCode: null,
  },
];

/** The stop button in the middle of the answer. */
export const ABORT_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_7' },
  { type: 'reasoning-start', id: 'r1' },
  { type: 'reasoning-delta', id: 'r1', delta: 'Thinking' },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Partial' },
  { type: 'abort', reason: 'stopped by user' },
];

/** A tool that needs approval: one call approved and run, one denied. */
export const APPROVAL_EVENTS: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_8' },
  { type: 'step-start', step: 1 },
  { type: 'tool-call-start', toolCallId: 'call_p', toolName: 'publish_event' },
  { type: 'tool-call-delta', toolCallId: 'call_p', delta: '{"topic":"ops","data":"up"}' },
  { type: 'tool-call', toolCallId: 'call_p', toolName: 'publish_event', input: { topic: 'ops', data: 'up' } },
  { type: 'tool-call-start', toolCallId: 'call_q', toolName: 'publish_event' },
  { type: 'tool-call-delta', toolCallId: 'call_q', delta: '{"topic":"ops","data":"down"}' },
  { type: 'tool-call', toolCallId: 'call_q', toolName: 'publish_event', input: { topic: 'ops', data: 'down' } },
  { type: 'step-finish', step: 1, finishReason: 'tool-calls' },
  { type: 'approval-request', approvalId: 'apr_1', toolCallId: 'call_p', toolName: 'publish_event', input: { topic: 'ops', data: 'up' } },
  { type: 'approval-request', approvalId: 'apr_2', toolCallId: 'call_q', toolName: 'publish_event', input: { topic: 'ops', data: 'down' } },
  { type: 'approval-response', approvalId: 'apr_1', approved: true },
  { type: 'approval-response', approvalId: 'apr_2', approved: false, reason: 'not now' },
  { type: 'tool-output-denied', toolCallId: 'call_q', toolName: 'publish_event', reason: 'not now' },
  { type: 'tool-result', toolCallId: 'call_p', toolName: 'publish_event', output: { id: '1' } },
  { type: 'step-start', step: 2 },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Published one; the other was denied.' },
  { type: 'text-end', id: 't1' },
  { type: 'step-finish', step: 2, finishReason: 'stop' },
  { type: 'finish', finishReason: 'stop' },
];

/** Every sequence by name. */
export const SEQUENCES: Readonly<Record<string, AgentEvent[]>> = {
  text: TEXT_EVENTS,
  reasoning: REASONING_EVENTS,
  tools: TOOL_EVENTS,
  clientTools: CLIENT_TOOL_EVENTS,
  rag: RAG_EVENTS,
  error: ERROR_EVENTS,
  abort: ABORT_EVENTS,
  approval: APPROVAL_EVENTS,
};

/** Every event type, each at least once, across the sequences. */
export const ALL_EVENTS: AgentEvent[] = Object.values(SEQUENCES).flat();

/** Concatenates what a format's `encode` gives for each event. */
export function encodeAll(format: { encode(event: AgentEvent): string | Uint8Array }, events: readonly AgentEvent[]): string {
  const decoder = new TextDecoder();
  let out = '';
  for (const event of events) {
    const chunk = format.encode(event);
    out += typeof chunk === 'string' ? chunk : decoder.decode(chunk);
  }
  return out;
}

/** An async source that yields `events` and then throws `error` (a failure after the first byte). */
export async function* eventsThenThrow<T = AgentEvent>(events: readonly T[], error: Error): AsyncGenerator<T> {
  yield* events;
  // Let the events leave first (they are written at the next macrotask): the failure then comes
  // after the first byte, as a provider's would, not before it.
  await new Promise((resolve) => setTimeout(resolve, 5));
  throw error;
}
