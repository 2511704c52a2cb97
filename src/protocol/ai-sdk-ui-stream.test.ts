import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema, type UIMessage, type UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { streamingResponse } from '../core/streaming-response.ts';
import {
  ABORT_EVENTS,
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
import { aiSdkUiStream, type AiSdkUiStreamOptions } from './ai-sdk-ui-stream.ts';
import type { AgentEvent } from './types.ts';

/** The chunks of a UI message stream body, read and validated by the AI SDK's own parser and schema. */
async function readChunks(body: ReadableStream<Uint8Array>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  const reader = parseJsonEventStream({ stream: body, schema: uiMessageChunkSchema }).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    if (!value.success) throw value.error;
    chunks.push(value.value);
  }
}

/** Streams events through the codec into a real Response, then through the AI SDK's reader into a UIMessage. */
async function toUiMessage(
  source: Iterable<AgentEvent> | AsyncIterable<AgentEvent>,
  options?: AiSdkUiStreamOptions,
): Promise<{ response: Response; text: string; chunks: UIMessageChunk[]; message: UIMessage | undefined; errors: unknown[] }> {
  const response = await streamingResponse(source, { format: aiSdkUiStream(options) });
  const text = await response.text();
  const chunks = await readChunks(new Response(text).body!);
  const errors: unknown[] = [];
  let message: UIMessage | undefined;
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  for await (const snapshot of readUIMessageStream({ stream, onError: (error) => errors.push(error) })) message = snapshot;
  // JSON round trip: the AI SDK leaves `providerMetadata: undefined` keys on parts.
  return { response, text, chunks, message: message === undefined ? undefined : (JSON.parse(JSON.stringify(message)) as UIMessage), errors };
}

describe('aiSdkUiStream', () => {
  it('sends the UI message stream v1 header and SSE', async () => {
    const { response } = await toUiMessage(TEXT_EVENTS);
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  });

  it('gives chunks the AI SDK schema accepts for every sequence, ending with [DONE]', async () => {
    for (const [name, events] of Object.entries(SEQUENCES)) {
      const text = encodeAll(aiSdkUiStream(), events);
      expect(text.endsWith('data: [DONE]\n\n'), name).toBe(true);
      const blocks = text.split('\n\n').filter((block) => block !== '' && block !== 'data: [DONE]');
      for (const block of blocks) {
        expect(block.startsWith('data: '), block).toBe(true);
        const result = await uiMessageChunkSchema().validate!(JSON.parse(block.slice(6)));
        expect(result.success, `${name}: ${block}`).toBe(true);
      }
    }
  });

  it('writes the exact chunks of a text answer', () => {
    const lines = encodeAll(aiSdkUiStream(), TEXT_EVENTS).split('\n\n').filter(Boolean);
    expect(lines).toEqual([
      'data: {"type":"start","messageId":"msg_1"}',
      'data: {"type":"start-step"}',
      'data: {"type":"text-start","id":"t1"}',
      'data: {"type":"text-delta","id":"t1","delta":"Hello"}',
      'data: {"type":"text-delta","id":"t1","delta":", \\"world\\""}',
      'data: {"type":"text-delta","id":"t1","delta":"\\n数字: 1 🎉"}',
      'data: {"type":"text-end","id":"t1"}',
      'data: {"type":"finish-step"}',
      'data: {"type":"finish","finishReason":"stop"}',
      'data: [DONE]',
    ]);
  });

  it('rebuilds text, step boundaries and message ID in the AI SDK', async () => {
    const { message, errors } = await toUiMessage(TEXT_EVENTS);
    expect(errors).toEqual([]);
    expect(message?.id).toBe('msg_1');
    expect(message?.parts).toEqual([{ type: 'step-start' }, { type: 'text', text: 'Hello, "world"\n数字: 1 🎉', state: 'done' }]);
  });

  it('rebuilds reasoning with its signature as Anthropic provider metadata', async () => {
    const { message } = await toUiMessage(REASONING_EVENTS);
    expect(message?.parts).toEqual([
      { type: 'reasoning', id: 'r1', text: 'The user wants a greeting.', state: 'done', providerMetadata: { anthropic: { signature: 'sig_abc' } } },
      { type: 'text', text: 'Hi!', state: 'done' },
    ]);
  });

  it('rebuilds parallel tool calls with their input, output and error', async () => {
    const { message, errors } = await toUiMessage(TOOL_EVENTS);
    expect(errors).toEqual([]);
    const tools = message?.parts.filter((part) => part.type.startsWith('tool-'));
    expect(tools).toMatchObject([
      { type: 'tool-weather', toolCallId: 'call_1', state: 'output-available', input: { city: 'Paris' }, output: { tempC: 18, sky: 'clear' } },
      { type: 'tool-time', toolCallId: 'call_2', state: 'output-error', input: { zone: 'Europe/Paris' }, errorText: 'time service unavailable' },
    ]);
    expect(message?.parts.filter((part) => part.type === 'step-start')).toHaveLength(2);
    expect(message?.parts.filter((part) => part.type === 'text').map((part) => (part as { text: string }).text)).toEqual([
      'Let me check.',
      'It is 18 °C and clear in Paris.',
    ]);
  });

  it('sends sources as source parts, progress as one reconciled data part and data as data-<name>', async () => {
    const { message } = await toUiMessage(RAG_EVENTS);
    expect(message?.parts).toEqual([
      { type: 'data-progress', id: 'search', data: { done: 2, total: 2, message: 'done' } },
      {
        type: 'source-url',
        sourceId: 'src_1',
        url: 'https://example.com/docs',
        title: 'Sluice docs',
        providerMetadata: { sluice: { snippet: 'Streaming…', score: 0.92 } },
      },
      {
        type: 'source-document',
        sourceId: 'src_2',
        mediaType: 'text/plain',
        title: 'Internal note',
        providerMetadata: { sluice: { snippet: 'Backpressure is pull-based.' } },
      },
      { type: 'data-chart', data: { series: [1, 2, 3] } },
      { type: 'text', text: 'Per the docs [1], it is pull-based [2].', state: 'done' },
    ]);
  });

  it('keeps every data event of a tool call as its own part (the AI SDK replaces a data part with the same id)', async () => {
    const events: AgentEvent[] = [
      { type: 'tool-call', toolCallId: 'call_r', toolName: 'generate_report', input: { topic: 'resume' } },
      { type: 'data', toolCallId: 'call_r', name: 'report-section', value: { title: 'One' } },
      { type: 'data', toolCallId: 'call_r', name: 'report-section', value: { title: 'Two' } },
      { type: 'data', toolCallId: 'call_r', name: 'outline', value: ['One', 'Two'] },
      { type: 'data', toolCallId: 'call_s', name: 'report-section', value: { title: 'Other call' } },
      { type: 'tool-result', toolCallId: 'call_r', toolName: 'generate_report', output: 'done' },
      { type: 'finish', finishReason: 'stop' },
    ];
    const { message, errors } = await toUiMessage(events);
    expect(errors).toEqual([]);
    expect(message?.parts.filter((part) => part.type.startsWith('data-'))).toEqual([
      { type: 'data-report-section', id: 'call_r-report-section-1', data: { title: 'One' } },
      { type: 'data-report-section', id: 'call_r-report-section-2', data: { title: 'Two' } },
      { type: 'data-outline', id: 'call_r-outline-1', data: ['One', 'Two'] },
      { type: 'data-report-section', id: 'call_s-report-section-1', data: { title: 'Other call' } },
    ]);
  });

  it('ends an error event with an error chunk (open parts ended) and [DONE]', async () => {
    const { chunks, text } = await toUiMessage(ERROR_EVENTS);
    expect(chunks.slice(-2)).toEqual([
      { type: 'text-end', id: 't1' },
      { type: 'error', errorText: 'The model is overloaded, try again.' },
    ]);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('ends an abort with an abort chunk', async () => {
    const { chunks, message } = await toUiMessage(ABORT_EVENTS);
    expect(chunks.at(-1)).toEqual({ type: 'abort', reason: 'stopped by user' });
    expect(message?.parts).toMatchObject([
      { type: 'reasoning', text: 'Thinking', state: 'done' },
      { type: 'text', text: 'Partial', state: 'done' },
    ]);
  });

  it('encodes an error thrown after the first byte as an error chunk and [DONE]', async () => {
    const failure = new SluiceError('provider_failed', 'Upstream failed.', { status: 502 });
    const { chunks, text } = await toUiMessage(eventsThenThrow(TEXT_EVENTS.slice(0, 4), failure));
    expect(chunks.slice(-3)).toEqual([
      { type: 'text-end', id: 't1' },
      { type: 'finish-step' },
      { type: 'error', errorText: 'Upstream failed.' },
    ]);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('starts parts a provider forgot to start, so the AI SDK never sees an unknown part', async () => {
    const { message, errors } = await toUiMessage([
      { type: 'text-delta', id: 'x', delta: 'no start' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    expect(errors).toEqual([]);
    expect(message?.parts).toEqual([{ type: 'text', text: 'no start', state: 'done' }]);
  });

  it('sends usage as message metadata only when asked', () => {
    expect(encodeAll(aiSdkUiStream(), TEXT_EVENTS)).not.toContain('message-metadata');
    expect(encodeAll(aiSdkUiStream({ sendUsage: true }), TEXT_EVENTS)).toContain(
      `data: {"type":"message-metadata","messageMetadata":{"usage":${JSON.stringify(USAGE)}}}\n\n`,
    );
  });

  it('uses the messageId option when there is no message-start, and writes nothing after the end', () => {
    const format = aiSdkUiStream({ messageId: 'm9' });
    expect(format.encode({ type: 'text-delta', id: 'a', delta: 'x' })).toMatch(/^data: \{"type":"start","messageId":"m9"\}\n\n/);
    format.encode({ type: 'finish', finishReason: 'stop' });
    expect(format.encode({ type: 'text-delta', id: 'a', delta: 'late' })).toBe('');
  });

  it('is read by the AI SDK with heartbeats between chunks', async () => {
    const format = aiSdkUiStream();
    const text = TEXT_EVENTS.map((event) => format.encode(event) as string).join(format.heartbeat);
    const chunks = await readChunks(new Response(text).body!);
    expect(chunks.filter((chunk) => chunk.type === 'text-delta')).toHaveLength(3);
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('drops input deltas of a tool call that never started, and sends its input whole', async () => {
    const { message, errors } = await toUiMessage([
      { type: 'tool-call-delta', toolCallId: 'c', delta: '{"a":' },
      { type: 'tool-call', toolCallId: 'c', toolName: 'lookup', input: { a: 1 } },
      { type: 'finish', finishReason: 'tool-calls' },
    ]);
    expect(errors).toEqual([]);
    expect(message?.parts).toMatchObject([{ type: 'tool-lookup', toolCallId: 'c', state: 'input-available', input: { a: 1 } }]);
  });
});
