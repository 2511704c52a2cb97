/**
 * Agent codecs and rebuilding: what each wire codec costs per event, and how the time to rebuild an
 * answer and a tool input from small deltas grows with their size.
 *
 * Method. Encoding: a realistic stream (message start, 200 reasoning deltas, 2 000 text deltas of
 * 4–8 characters with quotes, newlines and CJK, two parallel tool calls of 100 argument fragments
 * each, sources, progress, usage, finish) goes through a fresh codec per iteration, and each
 * result through `TextEncoder.encode`, as the stream engine does; the bytes are summed and checked
 * so no work can be skipped. A text-only stream of 10 000 deltas gives the cost per text delta and
 * the wire bytes it adds. Rebuilding: texts and tool inputs of 10 KB, 100 KB and 1 MB cut into
 * 4–8 character deltas (fixed pseudo-random lengths) are folded by a fresh accumulator or parser
 * per iteration; the partial JSON parser's `value()` is read after every delta, as a UI showing a
 * tool call's input does, and the result is checked against `JSON.parse`. The peer row re-parses
 * the whole text on each delta with the AI SDK's `parsePartialJson`, which is what a client without
 * an incremental parser does (one sample at 100 KB, where a run takes tens of seconds; not run at 1 MB).
 * Each figure is the median of 7 samples after 2 warm-up runs, with a GC between samples when Node
 * runs with `--expose-gc`. The encode table warms every codec up before measuring any, so the first
 * row does not pay for the others' JIT.
 *
 * @module
 */
import { parsePartialJson as aiParsePartialJson } from 'ai';
import type { Format } from '../src/core/types.ts';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { createAnthropicStreamMapper } from '../src/providers/anthropic/anthropic-stream-mapper.ts';
import { createOpenAIChatStreamMapper } from '../src/providers/openai/openai-chat-stream-mapper.ts';
import { encodeSse } from '../src/sse/encode.ts';
import {
  agUi,
  agentNdjson,
  agentSse,
  agentText,
  aiSdkUiStream,
  createMessageAccumulator,
  createPartialJsonParser,
  openaiChunks,
  type AgentEvent,
} from '../src/protocol/index.ts';

const WARMUP = 2;
const SAMPLES = 7;
const gc = (globalThis as { gc?: () => void }).gc;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median milliseconds of `run` (which returns something derived from its work, checked non-zero). */
async function measure(run: () => number | Promise<number>, samples = SAMPLES, warmup = WARMUP): Promise<number> {
  for (let i = 0; i < warmup; i++) if ((await run()) === 0) throw new Error('bench work produced nothing');
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    gc?.();
    const start = performance.now();
    const result = await run();
    times.push(performance.now() - start);
    if (result === 0) throw new Error('bench work produced nothing');
  }
  return median(times);
}

/** Fixed pseudo-random 4–8 character cuts of `text`. */
function cut(text: string): string[] {
  const pieces: string[] = [];
  let seed = 42;
  for (let i = 0; i < text.length; ) {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    const size = 4 + (seed % 5);
    pieces.push(text.slice(i, i + size));
    i += size;
  }
  return pieces;
}

const WORDS = ['the ', 'stream ', 'is ', 'pull-based; ', '"quoted" ', 'backpressure\n', '数据流 ', 'token ', 'of ', 'agents, '];

function answerText(length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += WORDS[i % WORDS.length];
  return out.slice(0, length);
}

function toolInputText(length: number): string {
  const rows: string[] = [];
  let size = 40;
  for (let i = 0; size < length; i++) {
    const row = JSON.stringify({ id: i, name: `row ${i} "${WORDS[i % WORDS.length]!.trim()}"`, score: (i % 97) / 7, ok: i % 3 === 0, tags: ['a', 'b'] });
    rows.push(row);
    size += row.length + 1;
  }
  return JSON.stringify({ title: 'report', note: answerText(length / 10) }).slice(0, -1) + `,"rows":[${rows.join(',')}]}`;
}

function mixedStream(): AgentEvent[] {
  const events: AgentEvent[] = [{ type: 'message-start', messageId: 'msg_1' }, { type: 'step-start', step: 0 }, { type: 'reasoning-start', id: 'r1' }];
  for (const delta of cut(answerText(1_200))) events.push({ type: 'reasoning-delta', id: 'r1', delta });
  events.push({ type: 'reasoning-end', id: 'r1' }, { type: 'progress', toolCallId: 'search', done: 0, total: 2 });
  events.push({ type: 'source', id: 's1', title: 'Docs', url: 'https://example.com/docs', snippet: 'Streaming…', score: 0.9 });
  events.push({ type: 'source', id: 's2', title: 'Note', snippet: 'Pull-based.' }, { type: 'progress', toolCallId: 'search', done: 2, total: 2 });
  events.push({ type: 'text-start', id: 't1' });
  for (const delta of cut(answerText(12_000)).slice(0, 2_000)) events.push({ type: 'text-delta', id: 't1', delta });
  events.push({ type: 'text-end', id: 't1' });
  const inputs = [cut(toolInputText(600)).slice(0, 100), cut(toolInputText(600)).slice(0, 100)];
  events.push({ type: 'tool-call-start', toolCallId: 'c1', toolName: 'search' }, { type: 'tool-call-start', toolCallId: 'c2', toolName: 'report' });
  for (let i = 0; i < 100; i++) {
    events.push({ type: 'tool-call-delta', toolCallId: 'c1', delta: inputs[0]![i]! }, { type: 'tool-call-delta', toolCallId: 'c2', delta: inputs[1]![i]! });
  }
  events.push({ type: 'tool-call', toolCallId: 'c1', toolName: 'search', input: { q: 'x' } }, { type: 'tool-call', toolCallId: 'c2', toolName: 'report', input: { rows: [] } });
  events.push({ type: 'step-finish', step: 0, finishReason: 'tool-calls' });
  events.push({ type: 'usage', inputTokens: 100, outputTokens: 2_000, totalTokens: 2_100, reasoningTokens: 200, cachedInputTokens: null });
  events.push({ type: 'finish', finishReason: 'stop' });
  return events;
}

function textOnlyStream(deltas: number): AgentEvent[] {
  const events: AgentEvent[] = [{ type: 'message-start', messageId: 'msg_1' }, { type: 'text-start', id: 't1' }];
  for (const delta of cut(answerText(deltas * 8)).slice(0, deltas)) events.push({ type: 'text-delta', id: 't1', delta });
  events.push({ type: 'text-end', id: 't1' }, { type: 'finish', finishReason: 'stop' });
  return events;
}

const CODECS: { name: string; make: () => Format<AgentEvent> }[] = [
  { name: 'native SSE `agentSse()`', make: () => agentSse() },
  { name: 'NDJSON `agentNdjson()`', make: () => agentNdjson() },
  { name: 'plain text `agentText()`', make: () => agentText() },
  { name: 'AI SDK UI stream `aiSdkUiStream()`', make: () => aiSdkUiStream() },
  { name: 'AG-UI `agUi()`', make: () => agUi({ threadId: 'th', runId: 'run' }) },
  { name: 'OpenAI chunks `openaiChunks()`', make: () => openaiChunks({ id: 'chatcmpl-1', model: 'local', created: 1_700_000_000 }) },
  {
    name: 'reference: generic `encodeSse({event,id,data})`',
    make: () => {
      let id = 1;
      return { contentType: 'text/event-stream', encode: (event: AgentEvent) => encodeSse({ event: event.type, id: id++, data: event }) };
    },
  },
];

function encodeStream(make: () => Format<AgentEvent>, events: readonly AgentEvent[]): number {
  const encoder = new TextEncoder();
  const format = make();
  let bytes = 0;
  for (const event of events) {
    const chunk = format.encode(event);
    bytes += typeof chunk === 'string' ? encoder.encode(chunk).byteLength : chunk.byteLength;
  }
  return bytes;
}

async function encodingTable(): Promise<string> {
  const mixed = mixedStream();
  const textOnly = textOnlyStream(10_000);
  const baseBytes = encodeStream(() => agentText(), textOnly);
  let warm = 0;
  for (const codec of CODECS) for (let i = 0; i < 3; i++) warm += encodeStream(codec.make, mixed) + encodeStream(codec.make, textOnly);
  if (warm === 0) throw new Error('bench work produced nothing');
  let out = `| codec | µs / event, mixed stream (${mixed.length} events) | µs / text delta | wire bytes / text delta (payload ≈ ${(baseBytes / 10_000).toFixed(1)}) |\n|---|---:|---:|---:|\n`;
  for (const codec of CODECS) {
    const mixedMs = await measure(() => encodeStream(codec.make, mixed));
    const textMs = await measure(() => encodeStream(codec.make, textOnly));
    const bytes = encodeStream(codec.make, textOnly);
    out += `| ${codec.name} | ${((mixedMs * 1_000) / mixed.length).toFixed(3)} | ${((textMs * 1_000) / textOnly.length).toFixed(3)} | ${(bytes / 10_000).toFixed(1)} |\n`;
  }
  return out;
}

// Provider → codec → bytes: the provider's own chunk objects (as its SDK yields them) through our
// stream mapper, then a codec, then TextEncoder — the whole per-token path of a sluice endpoint
// minus the sockets. A "hand-written proxy" row re-serializes each upstream chunk as `data: <JSON>`.
const PROVIDER_DELTAS = 10_000;

function openAiChunks(): ChatCompletionChunk[] {
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish: ChatCompletionChunk['choices'][number]['finish_reason'] = null): ChatCompletionChunk => ({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const pieces = cut(answerText(PROVIDER_DELTAS * 8)).slice(0, PROVIDER_DELTAS);
  return [chunk({ role: 'assistant', content: '' }), ...pieces.map((piece) => chunk({ content: piece })), chunk({}, 'stop')];
}

function anthropicEvents(): RawMessageStreamEvent[] {
  const pieces = cut(answerText(PROVIDER_DELTAS * 8)).slice(0, PROVIDER_DELTAS);
  return [
    {
      type: 'message_start',
      message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
    } as unknown as RawMessageStreamEvent,
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as unknown as RawMessageStreamEvent,
    ...pieces.map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }) as unknown as RawMessageStreamEvent),
    { type: 'content_block_stop', index: 0 } as RawMessageStreamEvent,
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: PROVIDER_DELTAS } } as unknown as RawMessageStreamEvent,
    { type: 'message_stop' } as RawMessageStreamEvent,
  ];
}

function throughProvider<Chunk>(chunks: readonly Chunk[], mapper: () => { push(chunk: Chunk): AgentEvent[]; end(): AgentEvent[] }, make: () => Format<AgentEvent>): number {
  const encoder = new TextEncoder();
  const format = make();
  const map = mapper();
  let bytes = 0;
  const emit = (events: AgentEvent[]): void => {
    for (const event of events) {
      const out = format.encode(event);
      bytes += typeof out === 'string' ? encoder.encode(out).byteLength : out.byteLength;
    }
  };
  for (const chunk of chunks) emit(map.push(chunk));
  emit(map.end());
  return bytes;
}

function handWrittenProxy(chunks: readonly unknown[]): number {
  const encoder = new TextEncoder();
  let bytes = 0;
  for (const chunk of chunks) bytes += encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`).byteLength;
  return bytes;
}

async function providerTable(): Promise<string> {
  const openai = openAiChunks();
  const anthropic = anthropicEvents();
  const openaiMapper = () => createOpenAIChatStreamMapper({ model: 'openai:gpt-4o-mini', provider: 'openai', label: 'OpenAI', url: 'http://bench' });
  const anthropicMapper = () => createAnthropicStreamMapper({ model: 'anthropic:claude', url: 'http://bench' });
  let out = `| path (${PROVIDER_DELTAS.toLocaleString('en')} text deltas) | OpenAI Chat chunks: µs / text delta | Anthropic events: µs / text delta |\n|---|---:|---:|\n`;
  for (const codec of CODECS.filter((c) => !c.name.startsWith('reference'))) {
    const a = await measure(() => throughProvider(openai, openaiMapper, codec.make));
    const b = await measure(() => throughProvider(anthropic, anthropicMapper, codec.make));
    out += `| provider → ${codec.name} → bytes | ${((a * 1_000) / PROVIDER_DELTAS).toFixed(3)} | ${((b * 1_000) / PROVIDER_DELTAS).toFixed(3)} |\n`;
  }
  const a = await measure(() => handWrittenProxy(openai));
  const b = await measure(() => handWrittenProxy(anthropic));
  out += `| reference: hand-written proxy, \`data: \${JSON.stringify(chunk)}\` per upstream chunk | ${((a * 1_000) / PROVIDER_DELTAS).toFixed(3)} | ${((b * 1_000) / PROVIDER_DELTAS).toFixed(3)} |\n`;
  return out;
}

const SIZES = [10_000, 100_000, 1_000_000];

function rebuildText(deltas: readonly AgentEvent[], expected: number): number {
  const accumulator = createMessageAccumulator();
  for (const event of deltas) accumulator.push(event);
  const length = accumulator.message.text.length;
  if (length !== expected) throw new Error(`rebuilt ${length} characters, expected ${expected}`);
  return length;
}

function rebuildToolInput(pieces: readonly string[], expected: string): number {
  const parser = createPartialJsonParser();
  let seen = 0;
  for (const piece of pieces) {
    parser.write(piece);
    if (parser.value() !== undefined) seen++;
  }
  const value = parser.end() as { rows: unknown[] };
  if (value.rows.length !== (JSON.parse(expected) as { rows: unknown[] }).rows.length) throw new Error('tool input differs from JSON.parse');
  return seen;
}

function accumulateToolInput(events: readonly AgentEvent[]): number {
  const accumulator = createMessageAccumulator();
  for (const event of events) accumulator.push(event);
  const call = accumulator.message.toolCalls[0]!;
  return call.inputText.length + ((call.partialInput as { rows: unknown[] }).rows.length > 0 ? 1 : 0);
}

async function reparseEachDelta(pieces: readonly string[]): Promise<number> {
  let text = '';
  let seen = 0;
  for (const piece of pieces) {
    text += piece;
    const result = await aiParsePartialJson(text);
    if (result.value !== undefined) seen++;
  }
  return seen;
}

function row(name: string, ms: (number | undefined)[]): string {
  const cells = ms.map((value) => (value === undefined ? 'skipped (quadratic)' : `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`));
  const perKb = ms.map((value, index) => (value === undefined ? '—' : `${((value * 1_000) / (SIZES[index]! / 1_000)).toFixed(2)}`));
  return `| ${name} | ${cells.join(' | ')} | ${perKb.join(' / ')} |\n`;
}

async function rebuildTable(): Promise<string> {
  let out = '| rebuild from 4–8 char deltas | 10 KB | 100 KB | 1 MB | µs per KB (10 KB / 100 KB / 1 MB) |\n|---|---:|---:|---:|---|\n';
  const text: number[] = [];
  const parse: number[] = [];
  const accumulate: number[] = [];
  const reparse: (number | undefined)[] = [];
  for (const size of SIZES) {
    const answer = answerText(size);
    const textEvents: AgentEvent[] = cut(answer).map((delta) => ({ type: 'text-delta', id: 't1', delta }));
    text.push(await measure(() => rebuildText(textEvents, answer.length)));
    const input = toolInputText(size);
    const pieces = cut(input);
    parse.push(await measure(() => rebuildToolInput(pieces, input)));
    const toolEvents: AgentEvent[] = [
      { type: 'tool-call-start', toolCallId: 'c1', toolName: 'report' },
      ...pieces.map((delta): AgentEvent => ({ type: 'tool-call-delta', toolCallId: 'c1', delta })),
    ];
    accumulate.push(await measure(() => accumulateToolInput(toolEvents)));
    // The peer is quadratic: at 100 KB one run takes tens of seconds, so it gets one sample, no warm-up.
    reparse.push(size > 100_000 ? undefined : size > 10_000 ? await measure(() => reparseEachDelta(pieces), 1, 0) : await measure(() => reparseEachDelta(pieces)));
  }
  out += row('answer text: `createMessageAccumulator()`, read at the end', text);
  out += row('tool input: `createPartialJsonParser()`, `value()` after every delta', parse);
  out += row('tool input: `createMessageAccumulator()` (text + incremental parse)', accumulate);
  out += row('peer: AI SDK `parsePartialJson(whole text)` after every delta', reparse);
  return out;
}

/** Runs the codec bench. @returns its markdown section */
export async function bench(): Promise<string> {
  const encoding = await encodingTable();
  const provider = await providerTable();
  const rebuild = await rebuildTable();
  return `### Agent codecs and rebuilding (\`bench/codec.bench.ts\`)

Each codec encodes a fresh stream to bytes (\`TextEncoder\` included); rebuilding folds 4–8 character
deltas. Median of ${SAMPLES} samples after ${WARMUP} warm-ups${gc === undefined ? ' (no forced GC: run with `node --expose-gc` for it)' : ', GC between samples'}.
Linear growth shows as a flat µs-per-KB column.

${encoding}
${provider}
${rebuild}`;
}
