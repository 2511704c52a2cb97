/**
 * Property: arbitrary strings in every string field of agent events (ids, tool names, deltas, error
 * messages, reasons, source titles and urls…) survive each codec and its real client unchanged —
 * newlines, CR, U+2028, quotes, backslashes, NUL, lone surrogates, `data:` prefixes, `[DONE]`.
 *
 * Method (differential): the same event template is encoded twice, once with the arbitrary strings
 * and once with plain placeholder tokens (`PH0X`, `PH1X`, …), and both are decoded by the client.
 * Putting the arbitrary strings back in place of the tokens in the placeholder run's decoded result
 * must give exactly the arbitrary run's decoded result: a frame broken or split by a string, a field
 * lost or leaked into another, fails. The clients: our SSE parser (`src/sse`) for native SSE, a
 * line reader for NDJSON, the `ai` package's `parseJsonEventStream` + `uiMessageChunkSchema` (and
 * `readUIMessageStream`), `@ag-ui/client`'s `HttpAgent`, and the `openai` SDK's stream reader.
 * The bytes reach each client cut at arbitrary places (UTF-8 characters split included).
 */
import { HttpAgent } from '@ag-ui/client';
import type { BaseEvent } from '@ag-ui/core';
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema, type UIMessageChunk } from 'ai';
import fc from 'fast-check';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { agUi, agentNdjson, agentSse, aiSdkUiStream, openaiChunks } from '../src/protocol/index.ts';
import type { AbortableAgentFormat, AgentEvent } from '../src/protocol/index.ts';
import { createParser } from '../src/sse/index.ts';

const NUM_RUNS = 100;

/** Pieces that break hand-made frames, mixed into arbitrary code points (lone surrogates included). */
const NASTY = [
  '\n',
  '\r',
  '\r\n',
  '\n\n',
  '\u2028',
  '\u2029',
  '"',
  '\\',
  '\\"',
  '\0',
  '\ud800',
  '\udfff',
  '\ud83d',
  '🎉',
  '数据',
  'data: ',
  'data: [DONE]\n\n',
  '[DONE]',
  'event: finish\n',
  'id: 99\n',
  ': ping\n\n',
  '\n\ndata: {"type":"abort"}\n\n',
  '"},{"type":"finish"}',
  '${x}',
  '</script>',
];

const nastyString = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join(''))
  .filter((text) => text !== '');

/** Ways the stream ends: by an event, or by the engine's encodeError / encodeAbort. */
type Ending = 'finish' | 'error' | 'abort' | 'encodeError' | 'encodeAbort';

interface Case {
  /** The strings of the template, in order; placeholders replace them one for one. */
  strings: string[];
  ending: Ending;
  /** Where the wire bytes are cut before they reach the client. */
  cuts: number[];
}

const STRING_COUNT = 40;
const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  strings: fc.array(nastyString, { minLength: STRING_COUNT, maxLength: STRING_COUNT }),
  ending: fc.constantFrom<Ending>('finish', 'error', 'abort', 'encodeError', 'encodeAbort'),
  cuts: fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
});

/**
 * The event template. `s(i)` is the i-th string; ids get a distinct suffix so two ids never collide
 * (codecs key their bookkeeping by id, and the placeholder run's ids are all distinct).
 */
function template(s: (index: number) => string, ending: Ending): { events: AgentEvent[]; end?: (format: AbortableAgentFormat) => string } {
  const id = (index: number, tag: string): string => `${s(index)}#${tag}`;
  const events: AgentEvent[] = [
    { type: 'message-start', messageId: id(0, 'm'), model: s(1) },
    { type: 'step-start', step: 0 },
    { type: 'reasoning-start', id: id(2, 'r') },
    { type: 'reasoning-delta', id: id(2, 'r'), delta: s(3) },
    { type: 'reasoning-delta', id: id(2, 'r'), delta: s(4) },
    { type: 'reasoning-end', id: id(2, 'r'), signature: s(5) },
    { type: 'text-start', id: id(6, 't') },
    { type: 'text-delta', id: id(6, 't'), delta: s(7) },
    { type: 'text-delta', id: id(6, 't'), delta: s(8) },
    { type: 'text-delta', id: id(6, 't'), delta: s(9) },
    { type: 'text-end', id: id(6, 't') },
    { type: 'tool-call-start', toolCallId: id(10, 'c1'), toolName: s(11) },
    { type: 'tool-call-delta', toolCallId: id(10, 'c1'), delta: s(12) },
    { type: 'tool-call-delta', toolCallId: id(10, 'c1'), delta: s(13) },
    { type: 'tool-call', toolCallId: id(10, 'c1'), toolName: s(11), input: { query: s(14), [s(15)]: [s(16)] } },
    { type: 'tool-result', toolCallId: id(10, 'c1'), toolName: s(11), output: { text: s(17) } },
    { type: 'tool-call', toolCallId: id(18, 'c2'), toolName: s(19), input: { expression: s(20) } },
    { type: 'tool-error', toolCallId: id(18, 'c2'), toolName: s(19), message: s(21) },
    { type: 'source', id: id(22, 's1'), title: s(23), url: s(24), snippet: s(25), score: 0.5 },
    { type: 'source', id: id(26, 's2'), title: s(27) },
    { type: 'progress', toolCallId: id(28, 'p'), done: 1, total: 2, message: s(29) },
    { type: 'data', name: s(30), value: { value: s(31) } },
    { type: 'step-finish', step: 0, finishReason: 'tool-calls' },
    { type: 'usage', inputTokens: 3, outputTokens: 5, totalTokens: 8, reasoningTokens: null, cachedInputTokens: null },
  ];
  switch (ending) {
    case 'finish':
      events.push({ type: 'finish', finishReason: 'stop', rawFinishReason: s(32) });
      return { events };
    case 'error':
      events.push({ type: 'error', code: s(33), message: s(34), retryable: false, providerType: s(35), providerCode: s(36) });
      return { events };
    case 'abort':
      events.push({ type: 'abort', reason: s(37) });
      return { events };
    case 'encodeError':
      return { events, end: (format) => format.encodeError!({ code: s(38), message: s(39) }) };
    case 'encodeAbort':
      return { events, end: (format) => format.encodeAbort(s(37)) };
  }
}

/** The wire text of a template through a codec. */
function encode(make: () => AbortableAgentFormat, s: (index: number) => string, ending: Ending): string {
  const format = make();
  const { events, end } = template(s, ending);
  let out = '';
  // As a follower writes them: events of the log with their ids (codecs that carry none ignore them).
  events.forEach((event, index) => (out += format.encode({ id: index + 1, event }) as string));
  return out + (end?.(format) ?? '');
}

/** The wire bytes cut into pieces of the given sizes (cycled), as a network would deliver them. */
function pieces(text: string, cuts: readonly number[]): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = cuts[i % cuts.length]!;
    out.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}

function body(text: string, cuts: readonly number[]): ReadableStream<Uint8Array> {
  const parts = pieces(text, cuts);
  return new ReadableStream({
    pull(controller) {
      const part = parts.shift();
      if (part === undefined) controller.close();
      else controller.enqueue(part);
    },
  });
}

const sseResponse = (text: string, cuts: readonly number[]): Response =>
  new Response(body(text, cuts), { headers: { 'content-type': 'text/event-stream; charset=utf-8' } });

const PLACEHOLDER = /PH(\d+)X/g;
const placeholder = (index: number): string => `PH${index}X`;

/**
 * The placeholder run's decoded value with the arbitrary strings put back. A string that holds JSON
 * (tool arguments and results that a codec serialized into a string field) is substituted inside
 * its parsed value and serialized again, as the codec did with the real strings.
 */
function substitute(value: unknown, strings: readonly string[]): unknown {
  if (typeof value === 'string') {
    if (!PLACEHOLDER.test(value)) return value;
    PLACEHOLDER.lastIndex = 0;
    const trimmed = value.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return JSON.stringify(substitute(JSON.parse(value), strings));
      } catch {
        // Not JSON after all (a delta that merely starts with a brace): plain substitution below.
      }
    }
    return value.replace(PLACEHOLDER, (_, index: string) => strings[Number(index)]!);
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, strings));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [substitute(key, strings) as string, substitute(item, strings)]));
  }
  return value;
}

/**
 * Checks one codec: decodes the arbitrary run and the placeholder run with `decode`, and compares.
 */
function roundTrips(make: () => AbortableAgentFormat, decode: (text: string, cuts: readonly number[]) => Promise<unknown>, endings?: readonly Ending[]) {
  return fc.assert(
    fc.asyncProperty(caseArbitrary, async ({ strings, ending, cuts }) => {
      if (endings !== undefined && !endings.includes(ending)) return;
      const real = await decode(encode(make, (i) => strings[i]!, ending), cuts);
      const plain = await decode(encode(make, placeholder, ending), [1 << 20]);
      expect(real).toEqual(substitute(plain, strings));
    }),
    { numRuns: NUM_RUNS },
  );
}

/** Our spec parser, fed the bytes as they come (through a streaming TextDecoder). */
function readSse(text: string, cuts: readonly number[]): { event: string; id: string; data: unknown }[] {
  const events: { event: string; id: string; data: unknown }[] = [];
  const parser = createParser({ onEvent: (event) => events.push({ event: event.event ?? 'message', id: event.id ?? '', data: JSON.parse(event.data) }) });
  const decoder = new TextDecoder();
  for (const part of pieces(text, cuts)) parser.feed(decoder.decode(part, { stream: true }));
  parser.feed(decoder.decode());
  parser.end();
  return events;
}

describe('arbitrary strings round-trip through each codec and its real client', () => {
  it('native SSE `agentSse()` through our SSE parser: every event back as sent, ids 1, 2, 3 …', async () => {
    await roundTrips(agentSse, async (text, cuts) => readSse(text, cuts));
    // And directly: the decoded events are the events (JSON round trip), in order.
    fc.assert(
      fc.property(caseArbitrary, ({ strings, ending, cuts }) => {
        if (ending === 'encodeError' || ending === 'encodeAbort') return;
        const { events } = template((i) => strings[i]!, ending);
        const decoded = readSse(encode(agentSse, (i) => strings[i]!, ending), cuts);
        expect(decoded.map((event) => event.data)).toEqual(events);
        expect(decoded.map((event) => event.id)).toEqual(events.map((_, i) => String(i + 1)));
        expect(decoded.map((event) => event.event)).toEqual(events.map((event) => event.type));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('NDJSON `agentNdjson()` through a line reader: one event per line, back as sent', async () => {
    const readLines = async (text: string, cuts: readonly number[]): Promise<unknown[]> => {
      const lines: unknown[] = [];
      let buffer = '';
      const decoder = new TextDecoder();
      for await (const part of body(text, cuts)) {
        buffer += decoder.decode(part, { stream: true });
        for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
          lines.push(JSON.parse(buffer.slice(0, end)));
          buffer = buffer.slice(end + 1);
        }
      }
      expect(buffer).toBe('');
      return lines;
    };
    await roundTrips(agentNdjson, readLines);
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async ({ strings, ending, cuts }) => {
        if (ending === 'encodeError' || ending === 'encodeAbort') return;
        const { events } = template((i) => strings[i]!, ending);
        expect(await readLines(encode(agentNdjson, (i) => strings[i]!, ending), cuts)).toEqual(events);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('AI SDK UI stream `aiSdkUiStream()` through the ai package’s parseJsonEventStream + uiMessageChunkSchema and readUIMessageStream', async () => {
    await roundTrips(aiSdkUiStream, async (text, cuts) => {
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      const chunks: UIMessageChunk[] = [];
      const reader = parseJsonEventStream({ stream: body(text, cuts), schema: uiMessageChunkSchema }).getReader();
      for (let result = await reader.read(); !result.done; result = await reader.read()) {
        if (!result.value.success) throw result.value.error;
        chunks.push(result.value.value);
      }
      // The message the AI SDK builds from them (its text and reasoning parts), and what it reports
      // to onError (the error chunk's text, for a stream that ends with an error).
      const errors: unknown[] = [];
      const stream = new ReadableStream<UIMessageChunk>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
          controller.close();
        },
      });
      let parts: unknown[] = [];
      for await (const message of readUIMessageStream({ stream, onError: (error) => errors.push(error) })) {
        parts = message.parts.filter((part) => part.type === 'text' || part.type === 'reasoning').map((part) => ({ type: part.type, text: (part as { text: string }).text }));
      }
      const reported = errors.map((error) => (error instanceof Error ? error.message : error));
      return { chunks: JSON.parse(JSON.stringify(chunks)) as unknown, parts, reported };
    });
  });

  it('AG-UI `agUi()` through @ag-ui/client’s HttpAgent (its SSE parsing, event schemas and verifier)', async () => {
    await roundTrips(
      () => agUi({ threadId: 'thread', runId: 'run' }),
      async (text, cuts) => {
        const seen: BaseEvent[] = [];
        const agent = new HttpAgent({ url: 'http://agent.test/v1/ag-ui', threadId: 'thread', fetch: async () => sseResponse(text, cuts) });
        agent.subscribe({ onEvent: ({ event }) => void seen.push(event) });
        let failure: unknown;
        const result = await agent.runAgent({ runId: 'run' }, { onRunFailed: ({ error }) => void (failure = error) });
        expect(failure).toBeUndefined();
        return { events: JSON.parse(JSON.stringify(seen)) as unknown, messages: JSON.parse(JSON.stringify(result.newMessages)) as unknown };
      },
    );
  });

  it('OpenAI chunks `openaiChunks()` through the openai SDK’s stream reader (chunks, then its APIError)', async () => {
    await roundTrips(
      () => openaiChunks({ id: 'chatcmpl-1', model: 'local', created: 1_700_000_000, includeUsage: true }),
      async (text, cuts) => {
        const client = new OpenAI({ apiKey: 'k', baseURL: 'http://gateway.test/v1', maxRetries: 0, fetch: async () => sseResponse(text, cuts) });
        const stream = await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'hi' }], stream: true });
        const chunks: unknown[] = [];
        let error: unknown;
        try {
          for await (const chunk of stream) chunks.push(chunk);
        } catch (caught) {
          error = caught instanceof OpenAI.APIError ? { message: caught.message, code: caught.code, type: caught.type } : caught;
        }
        return { chunks, error };
      },
    );
  });
});
