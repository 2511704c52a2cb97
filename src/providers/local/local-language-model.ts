/**
 * The `local` demo model: answers from sluice's own knowledge base, needs no key and no network,
 * is deterministic, and streams every provider-level event at a realistic pace.
 *
 * @module
 */
import type { AgentEvent, FinishReason, Usage } from '../../protocol/types.ts';
import type { ChatRequest, Provider } from '../types.ts';
import { composeReply } from './compose-reply.ts';
import { memoizeByText } from './memo.ts';
import {
  checkTokensPerSecond,
  checkTtftMs,
  createTokenClock,
  defaultEnv,
  resolveLocalPacing,
  type LocalEnv,
} from './local-pacing.ts';
import { splitIntoTokens, tokensOf } from './split-into-tokens.ts';
import { stableHash } from './stable-id.ts';

/** The name the demo model goes by, in `message-start` and `SLUICE_MODEL`. */
export const LOCAL_MODEL_NAME = 'local';

/** Options of {@link createLocalProvider}; anything left out is read from the environment on each call. */
export interface LocalProviderOptions {
  /**
   * Milliseconds before the first token.
   * @defaultValue `SLUICE_LOCAL_TTFT_MS`, else 300
   */
  ttftMs?: number;
  /**
   * Tokens per second after the first. `0` or `Infinity` turns pacing off: every token at once.
   * @defaultValue `SLUICE_LOCAL_TPS`, else 40
   */
  tokensPerSecond?: number;
  /**
   * Where `SLUICE_LOCAL_TTFT_MS` and `SLUICE_LOCAL_TPS` are read, on each call.
   * @defaultValue `process.env` where there is one
   */
  env?: LocalEnv;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
  } catch {
    // A cyclic tool output: hashing and counting its string form keeps the model deterministic.
    return String(value);
  }
}

function checkRequest(request: ChatRequest): void {
  if (!Array.isArray(request?.messages)) {
    throw new TypeError(`Expected \`request.messages\` to be an array, got ${typeof request?.messages}.`);
  }
  const max = request.maxOutputTokens;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new RangeError(`Expected \`request.maxOutputTokens\` to be an integer ≥ 1, got ${String(max)}.`);
  }
}

function countInputTokens(request: ChatRequest): number {
  let count = 0;
  for (const message of request.messages) {
    count += tokensIn(typeof message.content === 'string' ? message.content : safeJson(message.content));
  }
  if (request.tools !== undefined && request.tools.length > 0) count += tokensIn(safeJson(request.tools));
  return count;
}

/** Text past this many characters is counted by extrapolation: exact counting of a 1 MB message held the event loop ~75 ms. */
const COUNTED_CHARS = 20_000;

/** Counts of texts that come with every request (the tools' JSON, a system prompt): counted once, not per chat. */
const countRepeated = memoizeByText((text) => splitIntoTokens(text).length, 32);
/** Texts shorter than this are counted each time (a lookup would cost about as much); longer ones up to {@link COUNTED_CHARS} are kept. */
const MEMO_MIN_CHARS = 256;

/** The demo tokenizer's count for `text`, exact up to {@link COUNTED_CHARS}, extrapolated from them beyond. */
function tokensIn(text: string): number {
  if (text.length < MEMO_MIN_CHARS) return splitIntoTokens(text).length;
  if (text.length <= COUNTED_CHARS) return countRepeated(text);
  return Math.round((splitIntoTokens(text.slice(0, COUNTED_CHARS)).length * text.length) / COUNTED_CHARS);
}

/**
 * A part of the reply: its `text` is split into tokens as it streams ({@link tokensOf}), the first
 * `skip` of them left out (what an earlier producer streamed already).
 */
type Part =
  | { kind: 'reasoning'; id: string; text: string; skip: number }
  | { kind: 'text'; id: string; text: string; skip: number }
  | { kind: 'tool'; id: string; toolName: string; input: unknown; text: string; skip: number };

/**
 * Drops what an earlier producer already streamed of this reply (a takeover): the model is
 * deterministic, so the same conversation plans the same pieces, and the continuation starts at the
 * exact offset where the written text and reasoning end. Every part gets a new id (a part the old
 * producer opened was closed at the seam; a tool call it was streaming is streamed again whole). A
 * continuation that is not a prefix of the plan is ignored: the step is answered whole.
 */
function resumeParts(parts: Part[], continuation: NonNullable<ChatRequest['continuation']>): void {
  const written = { reasoning: continuation.reasoning ?? '', text: continuation.text };
  const planned = (kind: 'reasoning' | 'text'): string => parts.find((part) => part.kind === kind)?.text ?? '';
  if (!planned('reasoning').startsWith(written.reasoning) || !planned('text').startsWith(written.text)) return;
  for (const part of parts) {
    if (part.kind === 'tool') {
      part.id = `${part.id}_r`;
      continue;
    }
    const done = written[part.kind];
    // The pieces that fit whole in what was written are skipped (counted, not re-split from an
    // offset: a long word cut in four-character pieces would split differently from its middle).
    let length = 0;
    for (const piece of tokensOf(part.text)) {
      if (length + piece.length > done.length) break;
      length += piece.length;
      part.skip++;
    }
    part.id = `${part.id}_r${length}`;
    // All of it was written: nothing of this part is sent again, not even its start.
    if (length === part.text.length) part.text = '';
  }
}

async function* generate(request: ChatRequest, options: LocalProviderOptions, signal: AbortSignal | undefined): AsyncGenerator<AgentEvent> {
  signal?.throwIfAborted();
  checkRequest(request);
  const pacing = resolveLocalPacing(options, options.env ?? defaultEnv());
  const reply = composeReply(request);
  const hash = stableHash(
    safeJson({ messages: request.messages, tools: request.tools, toolChoice: request.toolChoice, maxOutputTokens: request.maxOutputTokens }),
  );
  const parts: Part[] = [
    { kind: 'reasoning', id: `reasoning_${hash}`, text: reply.reasoning, skip: 0 },
    { kind: 'text', id: `text_${hash}`, text: reply.text, skip: 0 },
  ];
  if (reply.toolCall !== undefined) {
    const { toolName, input } = reply.toolCall;
    parts.push({ kind: 'tool', id: `call_${hash}`, toolName, input, text: JSON.stringify(input), skip: 0 });
  }
  if (request.continuation !== undefined) resumeParts(parts, request.continuation);
  const budget = request.maxOutputTokens ?? Infinity;
  const clock = createTokenClock(pacing, signal);

  let outputTokens = 0;
  let reasoningTokens = 0;
  let cut = false;
  yield { type: 'message-start', messageId: `msg_${hash}`, model: LOCAL_MODEL_NAME };
  for (const part of parts) {
    if (part.text === '') continue;
    if (outputTokens >= budget) {
      cut = true;
      break;
    }
    // Waited for inline, not through an async helper: one promise less per token.
    const wait = clock(outputTokens);
    if (wait !== undefined) await wait;
    signal?.throwIfAborted();
    // Checked before every event, not only after waits, so that an unpaced stream stops too.
    if (part.kind === 'tool') yield { type: 'tool-call-start', toolCallId: part.id, toolName: part.toolName };
    else yield { type: part.kind === 'text' ? 'text-start' : 'reasoning-start', id: part.id };
    let first = true;
    let skip = part.skip;
    // Split as it streams: a chat's start does not split, nor hold, its whole answer.
    for (const delta of tokensOf(part.text)) {
      if (skip > 0) {
        skip--;
        continue;
      }
      if (!first) {
        if (outputTokens >= budget) {
          cut = true;
          break;
        }
        const next = clock(outputTokens);
        if (next !== undefined) await next;
      }
      first = false;
      signal?.throwIfAborted();
      if (part.kind === 'tool') yield { type: 'tool-call-delta', toolCallId: part.id, delta };
      else yield { type: part.kind === 'text' ? 'text-delta' : 'reasoning-delta', id: part.id, delta };
      outputTokens++;
      if (part.kind === 'reasoning') reasoningTokens++;
    }
    signal?.throwIfAborted();
    // A tool call cut short has no complete input, so it gets no `tool-call` (as with real providers).
    if (part.kind === 'tool') {
      if (!cut) yield { type: 'tool-call', toolCallId: part.id, toolName: part.toolName, input: part.input };
    } else {
      yield { type: part.kind === 'text' ? 'text-end' : 'reasoning-end', id: part.id };
    }
    if (cut) break;
  }
  signal?.throwIfAborted();
  const inputTokens = countInputTokens(request);
  const usage: Usage = {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    reasoningTokens,
    cachedInputTokens: 0,
  };
  const finishReason: FinishReason = cut ? 'length' : reply.toolCall !== undefined ? 'tool-calls' : 'stop';
  yield { type: 'usage', ...usage };
  yield { type: 'finish', finishReason, usage };
}

/**
 * Creates the `local` demo model: a {@link Provider} that answers from sluice's built-in knowledge
 * base (English or Chinese, matching the question), says once per conversation that it is a demo
 * and how to switch to a real model, and streams `message-start`, thinking, text, tool calls (when
 * tools are offered and the question calls for one, see `planToolCall`), `usage` and `finish`.
 * The same request always gives the same events. Tokens are paced on a drift-free schedule: the
 * first after `ttftMs`, then `tokensPerSecond`. Aborting `signal` rejects the pending `next()` with
 * `signal.reason` at once and ends the iterator.
 * @param options - pacing; what is left out comes from `SLUICE_LOCAL_TTFT_MS` / `SLUICE_LOCAL_TPS` on each call
 * @returns the provider
 * @throws RangeError when `ttftMs` or `tokensPerSecond` is negative or not a number
 * @example
 * ```ts
 * const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: Infinity });
 * for await (const event of local({ model: 'local', messages: [{ role: 'user', content: 'What is backpressure?' }] })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.delta);
 * }
 * ```
 */
export function createLocalProvider(options: LocalProviderOptions = {}): Provider {
  const resolved: LocalProviderOptions = {};
  if (options.ttftMs !== undefined) resolved.ttftMs = checkTtftMs(options.ttftMs, '`ttftMs`');
  if (options.tokensPerSecond !== undefined) resolved.tokensPerSecond = checkTokensPerSecond(options.tokensPerSecond, '`tokensPerSecond`');
  if (options.env !== undefined) resolved.env = options.env;
  return (request, callOptions) => generate(request, resolved, callOptions?.signal);
}

/** The `local` demo model with pacing from the environment (`SLUICE_LOCAL_TTFT_MS`, `SLUICE_LOCAL_TPS`). */
export const localProvider: Provider = createLocalProvider();
