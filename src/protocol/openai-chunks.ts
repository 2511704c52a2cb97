/**
 * Agent events as OpenAI `chat.completion.chunk` SSE, the streaming answer of `POST /v1/chat/completions`.
 *
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 * @module
 */
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
import { eventOf, type AbortableAgentFormat } from './agent-format.ts';
import type { AgentEvent, FinishReason, Usage } from './types.ts';
import { usageOf } from './usage.ts';

/** Options of {@link openaiChunks}. */
export interface OpenAiChunksOptions {
  /** The completion ID, the same in every chunk (`chatcmpl-…`). */
  id: string;
  /** The model name the client asked for. */
  model: string;
  /** Unix time in seconds when the completion was created. */
  created: number;
  /**
   * Sends a last chunk with `choices: []` and the token usage, as OpenAI does when the request
   * had `stream_options: { include_usage: true }`.
   * @defaultValue false
   */
  includeUsage?: boolean;
  /**
   * The delta field that carries reasoning text, as OpenAI-compatible servers (DeepSeek, vLLM) send
   * it; `false` leaves reasoning out, as OpenAI itself does.
   * @defaultValue `'reasoning_content'`
   */
  reasoningField?: string | false;
}

/** An OpenAI finish reason. */
export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

const OPENAI_FINISH_REASONS: ReadonlySet<string> = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

/**
 * Maps a finish reason back to OpenAI's vocabulary: the provider's own value when it already is
 * one of OpenAI's, otherwise the AI SDK reason translated (`error` and `other` become `stop`).
 * @param reason - the normalized reason
 * @param raw - the provider's own value, when known
 * @returns OpenAI's `finish_reason`
 */
export function toOpenAiFinishReason(reason: FinishReason, raw?: string | null): OpenAiFinishReason {
  if (raw !== undefined && raw !== null && OPENAI_FINISH_REASONS.has(raw)) return raw as OpenAiFinishReason;
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * OpenAI's `usage` object for {@link Usage}: unknown counts become 0 (OpenAI's fields are
 * required), the detail objects appear only when their count is known.
 * @param usage - the normalized usage
 * @returns `prompt_tokens`, `completion_tokens`, `total_tokens` and the known details
 */
export function toOpenAiUsage(usage: Usage): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
} {
  const prompt = usage.inputTokens ?? 0;
  const completion = usage.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage.totalTokens ?? prompt + completion,
    ...(usage.cachedInputTokens === null ? {} : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
    ...(usage.reasoningTokens === null ? {} : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } }),
  };
}

/** One SSE frame of a JSON object, serialized once (JSON has no raw line breaks). */
function frame(body: object): string {
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** OpenAI's error body for an error after the first byte: `{"error":{message,type,code}}`. */
function errorLine(message: string, type: string, code: string): string {
  return frame({ error: { message, type, code } });
}

/** The abort signal of this format: an error with type and code `aborted`. */
function abortLine(reason: string | undefined): string {
  return errorLine(`The generation was stopped${reason === undefined ? '' : `: ${reason}`}.`, 'aborted', 'aborted');
}

/** The placeholder of the delta in the serialized chunk envelope. */
const DELTA_SLOT = '\u0000delta';

/** A tool call's fragment in a chunk's `delta.tool_calls`. */
interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

/** The `delta` of a chunk's one choice. */
type ChunkDelta = { role?: 'assistant'; content?: string; refusal?: string; tool_calls?: ToolCallDelta[] } & Record<string, unknown>;

/** The last line of an OpenAI stream. */
export const OPENAI_DONE = 'data: [DONE]\n\n';

/**
 * OpenAI `chat.completion.chunk` SSE: a role chunk first, `content` deltas (`refusal` for a refusal
 * part), `tool_calls` deltas (index, id, type and name on a call's first fragment, argument
 * fragments after), a last choice chunk with `finish_reason`, a usage chunk (`choices: []`) when
 * asked for and known, then `data: [DONE]`. An `error` event or a thrown error becomes
 * `data: {"error":{message,type,code}}`, which OpenAI's SDKs raise as an `APIError`; `abort`
 * becomes such an error with code `aborted`, as does a stream stopped from outside (`encodeAbort`). Tool results, sources, progress and data have no
 * place in this format and are left out. Stateful: make one per response.
 * @param options - the completion's ID, model and creation time, and what to include
 * @returns a fresh format for one response
 * @example
 * ```ts
 * const format = openaiChunks({ id: 'chatcmpl-1', model: body.model, created: Math.floor(Date.now() / 1000), includeUsage: body.stream_options?.include_usage === true })
 * await sendStream(res, events, { format })
 * ```
 */
export function openaiChunks(options: OpenAiChunksOptions): AbortableAgentFormat {
  if (!Number.isSafeInteger(options.created)) throw new TypeError(`Expected \`created\` to be Unix seconds, got ${String(options.created)}.`);
  const reasoningField = options.reasoningField === undefined ? 'reasoning_content' : options.reasoningField;
  // Every chunk is this object with its one choice's delta and finish reason set.
  const choice: { index: 0; delta: ChunkDelta | string; logprobs: null; finish_reason: OpenAiFinishReason | null } = {
    index: 0,
    delta: {},
    logprobs: null,
    finish_reason: null,
  };
  const chunk = { id: options.id, object: 'chat.completion.chunk', created: options.created, model: options.model, choices: [choice] };
  // The per-token path: the envelope (id, model, …) is serialized once from the object above with a
  // slot value in place of the delta; each delta is then serialized once and put in that slot.
  // Re-serializing the whole envelope for every token measured 1.5–2.4x slower per text delta.
  // The slot is found from the end: only the constant `logprobs` and `finish_reason` follow it.
  choice.delta = DELTA_SLOT;
  const envelope = `data: ${JSON.stringify(chunk)}\n\n`;
  const slot = envelope.lastIndexOf(JSON.stringify(DELTA_SLOT));
  const before = envelope.slice(0, slot);
  const after = envelope.slice(slot + JSON.stringify(DELTA_SLOT).length);
  function chunkLine(delta: ChunkDelta, finishReason: OpenAiFinishReason | null = null): string {
    if (finishReason === null) return before + JSON.stringify(delta) + after;
    choice.delta = delta;
    choice.finish_reason = finishReason;
    return frame(chunk);
  }
  let started = false;
  let ended = false;
  let usage: Usage | undefined;
  const refusals = new Set<string>();
  /** Each tool call's index in `tool_calls`, and whether any of its argument text was sent. */
  const tools = new Map<string, { index: number; sentArguments: boolean }>();

  function toolStart(toolCallId: string, toolName: string, args: string): string {
    const index = tools.size;
    tools.set(toolCallId, { index, sentArguments: args !== '' });
    return chunkLine({ tool_calls: [{ index, id: toolCallId, type: 'function', function: { name: toolName, arguments: args } }] });
  }

  function encodeEvent(event: AgentEvent): string {
    switch (event.type) {
      case 'text-delta':
        if (event.delta === '') return '';
        return chunkLine(refusals.has(event.id) ? { refusal: event.delta } : { content: event.delta });
      case 'reasoning-delta':
        if (reasoningField === false || event.delta === '') return '';
        return chunkLine({ [reasoningField]: event.delta });
      case 'tool-call-delta': {
        const tool = tools.get(event.toolCallId);
        if (tool === undefined || event.delta === '') return '';
        tool.sentArguments = true;
        return chunkLine({ tool_calls: [{ index: tool.index, function: { arguments: event.delta } }] });
      }
      case 'text-start':
        if (event.refusal === true) refusals.add(event.id);
        return '';
      case 'tool-call-start':
        return tools.has(event.toolCallId) ? '' : toolStart(event.toolCallId, event.toolName, '');
      case 'tool-call': {
        const tool = tools.get(event.toolCallId);
        const args = JSON.stringify(event.input ?? {});
        if (tool === undefined) return toolStart(event.toolCallId, event.toolName, args);
        if (tool.sentArguments) return '';
        tool.sentArguments = true;
        return chunkLine({ tool_calls: [{ index: tool.index, function: { arguments: args } }] });
      }
      case 'usage':
        usage = usageOf(event);
        return '';
      case 'finish': {
        ended = true;
        if (event.usage !== undefined) usage = event.usage;
        const reason = toOpenAiFinishReason(event.finishReason, event.rawFinishReason);
        let out = chunkLine({}, reason);
        if (options.includeUsage === true && usage !== undefined) out += frame({ ...chunk, choices: [], usage: toOpenAiUsage(usage) });
        return out + OPENAI_DONE;
      }
      case 'error':
        ended = true;
        return errorLine(event.message, event.providerType ?? 'server_error', event.providerCode ?? event.code);
      case 'abort':
        ended = true;
        return abortLine(event.reason);
      default:
        // message-start, text-end, reasoning start/end, tool results and errors, sources, progress,
        // data and steps have no OpenAI chunk.
        return '';
    }
  }

  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat: KEEP_ALIVE_COMMENT,
    // Chunks carry no event ids: a logged event is encoded as its event.
    encode(item) {
      if (ended) return '';
      const event = eventOf(item);
      if (started) return encodeEvent(event);
      started = true;
      return chunkLine({ role: 'assistant', content: '' }) + encodeEvent(event);
    },
    encodeError(error) {
      if (ended) return '';
      ended = true;
      return errorLine(error.message, 'server_error', error.code);
    },
    // Like encodeError, no role chunk first: the SDK raises the error whatever came before it.
    encodeAbort(reason) {
      if (ended) return '';
      ended = true;
      return abortLine(reason);
    },
  };
}
