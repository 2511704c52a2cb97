/**
 * `encodeAbort(reason)`: each agent codec ends a stream stopped from outside with its own abort
 * signal, the same bytes as an `{type: 'abort', reason}` event, read back by the codec's real client.
 */
import { HttpAgent } from '@ag-ui/client';
import type { BaseEvent } from '@ag-ui/core';
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema, type UIMessageChunk } from 'ai';
import OpenAI, { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { agUi, agentNdjson, agentSse, agentText, aiSdkUiStream, openaiChunks, parseAgentEvent } from '../src/protocol/index.ts';
import type { AbortableAgentFormat, AgentEvent, AgentFormat } from '../src/protocol/index.ts';
import { createParser } from '../src/sse/index.ts';
import type { SseEvent } from '../src/sse/index.ts';

const REASON = 'stopped by "DELETE /v1/streams/:id"\ndata: {"type":"finish"}';
const HEAD: AgentEvent[] = [
  { type: 'message-start', messageId: 'msg_1' },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Partial' },
];

/** What a codec writes for HEAD, then for encodeAbort(REASON) (the engine's call after the head was sent). */
function encodeStopped(format: AgentFormat, head: readonly AgentEvent[] = HEAD): { body: string; abort: string } {
  let body = '';
  // The head as a follower writes it: events of the log, with their ids.
  head.forEach((event, index) => (body += format.encode({ id: index + 1, event }) as string));
  const encodeAbort = (format as Partial<AbortableAgentFormat>).encodeAbort;
  if (encodeAbort === undefined) throw new Error('the codec has no encodeAbort');
  const abort = encodeAbort(REASON);
  return { body: body + abort, abort };
}

/** The bytes the same codec gives for an `abort` event in the same place. */
function encodeAbortEvent(format: AgentFormat, head: readonly AgentEvent[] = HEAD): string {
  head.forEach((event, index) => format.encode({ id: index + 1, event }));
  return format.encode({ type: 'abort', reason: REASON }) as string;
}

function sseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(text);
  parser.end();
  return events;
}

const sseResponse = (text: string): Response => new Response(text, { headers: { 'content-type': 'text/event-stream' } });

describe('encodeAbort gives the codec’s own abort signal', () => {
  it('agentSse: an `abort` event {reason} with no id (this response\'s only), as a bare abort event would be', () => {
    const { body, abort } = encodeStopped(agentSse());
    expect(abort).toBe(encodeAbortEvent(agentSse()));
    expect(abort).not.toContain('id:');
    const events = sseEvents(body);
    // The parser reports the last event ID seen: the abort leaves it at the last logged event.
    expect(events.map((event) => event.id)).toEqual(['1', '2', '3', '3']);
    const last = events.at(-1)!;
    expect(last.event).toBe('abort');
    expect(parseAgentEvent(JSON.parse(last.data))).toEqual({ type: 'abort', reason: REASON });
  });

  it('agentNdjson: a last {"type":"abort","reason"} line', () => {
    const { body, abort } = encodeStopped(agentNdjson());
    expect(abort).toBe(encodeAbortEvent(agentNdjson()));
    const lines = body.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(HEAD.length + 2);
    expect(parseAgentEvent(JSON.parse(lines.at(-2)!))).toEqual({ type: 'abort', reason: REASON });
  });

  it('aiSdkUiStream: open parts ended, an `abort` chunk with the reason, then [DONE], read by the AI SDK', async () => {
    const { body, abort } = encodeStopped(aiSdkUiStream());
    expect(abort).toBe(encodeAbortEvent(aiSdkUiStream()));
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks: UIMessageChunk[] = [];
    const reader = parseJsonEventStream({ stream: sseResponse(body).body!, schema: uiMessageChunkSchema }).getReader();
    for (let result = await reader.read(); !result.done; result = await reader.read()) {
      if (!result.value.success) throw result.value.error;
      chunks.push(result.value.value);
    }
    expect(chunks.slice(-2)).toEqual([
      { type: 'text-end', id: 't1' },
      { type: 'abort', reason: REASON },
    ]);
    const errors: unknown[] = [];
    const stream = new ReadableStream<UIMessageChunk>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    let text = '';
    for await (const message of readUIMessageStream({ stream, onError: (error) => errors.push(error) })) {
      text = message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
    }
    expect(errors).toEqual([]);
    expect(text).toBe('Partial');
  });

  it('aiSdkUiStream: before any event (the head sent on a heartbeat) it still starts the message first', () => {
    const format = aiSdkUiStream({ messageId: 'm' });
    expect(format.encodeAbort('gone')).toBe('data: {"type":"start","messageId":"m"}\n\ndata: {"type":"abort","reason":"gone"}\n\ndata: [DONE]\n\n');
    expect(format.encodeAbort('again')).toBe('');
  });

  it('agUi: the run ends as AG-UI’s cancelled run (RUN_FINISHED, outcome cancelled), which HttpAgent accepts', async () => {
    const { body, abort } = encodeStopped(agUi({ threadId: 'th', runId: 'run' }));
    expect(abort).toBe(encodeAbortEvent(agUi({ threadId: 'th', runId: 'run' })));
    const seen: BaseEvent[] = [];
    const agent = new HttpAgent({ url: 'http://agent.test/v1/ag-ui', threadId: 'th', fetch: async () => sseResponse(body) });
    agent.subscribe({ onEvent: ({ event }) => void seen.push(event) });
    const result = await agent.runAgent({ runId: 'run' });
    expect(seen.map((event) => event.type)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED']);
    expect(seen.at(-1)).toMatchObject({ outcome: { type: 'cancelled' } });
    expect(result.newMessages).toMatchObject([{ role: 'assistant', content: 'Partial' }]);
  });

  it('openaiChunks: an error with code `aborted` and the reason, which the openai SDK raises as an APIError', async () => {
    const options = { id: 'chatcmpl-1', model: 'local', created: 1_700_000_000 };
    const { body, abort } = encodeStopped(openaiChunks(options));
    expect(JSON.parse(abort.slice('data: '.length))).toEqual({
      error: { message: `The generation was stopped: ${REASON}.`, type: 'aborted', code: 'aborted' },
    });
    const client = new OpenAI({ apiKey: 'k', baseURL: 'http://gateway.test/v1', maxRetries: 0, fetch: async () => sseResponse(body) });
    const stream = await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => expect.unreachable('the SDK should have raised the abort'),
      (caught: unknown) => caught,
    );
    expect(text).toBe('Partial');
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ code: 'aborted', type: 'aborted' });
    expect((error as Error).message).toContain(REASON);
  });

  it('openaiChunks: nothing after the stream already ended', () => {
    const format = openaiChunks({ id: 'chatcmpl-1', model: 'local', created: 1_700_000_000 });
    format.encode({ type: 'finish', finishReason: 'stop' });
    expect(format.encodeAbort('late')).toBe('');
  });

  it.each([
    ['agentSse', () => agentSse()],
    ['agentNdjson', () => agentNdjson()],
    ['aiSdkUiStream', () => aiSdkUiStream()],
    ['agUi', () => agUi({ threadId: 'th', runId: 'run' })],
    ['openaiChunks', () => openaiChunks({ id: 'chatcmpl-1', model: 'local', created: 1_700_000_000 })],
  ] as const)('%s: nothing after a terminal event (a stream never ends twice)', (_name, make) => {
    for (const terminal of [{ type: 'finish', finishReason: 'stop' }, { type: 'error', code: 'x', message: 'm', retryable: false }, { type: 'abort', reason: 'r' }] as const) {
      const format = make();
      format.encode(HEAD[0]!);
      format.encode(terminal);
      expect(format.encodeAbort('late')).toBe('');
      expect(format.encodeError!({ code: 'late', message: 'late' })).toBe('');
    }
  });

  it('agentText has none, so a stopped plain-text transfer is aborted', () => {
    expect('encodeAbort' in agentText()).toBe(false);
  });
});
