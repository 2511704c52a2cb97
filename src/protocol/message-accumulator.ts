/**
 * Rebuilds a message from its agent events in time linear in its length.
 *
 * @module
 */
import { createPartialJsonParser, type PartialJsonParser } from './partial-json-parser.ts';
import type { AgentEvent, DataEvent, FinishReason, ProgressEvent, SourceEvent, Usage } from './types.ts';

/** A tool call as rebuilt from its events. */
export interface AccumulatedToolCall {
  toolCallId: string;
  toolName: string;
  /** The input JSON text received so far (all `tool-call-delta` fragments joined). */
  inputText: string;
  /** The input read so far from `inputText`, before the call is complete; undefined when it is not valid JSON. */
  partialInput?: unknown;
  /** The complete input, once the `tool-call` event came. */
  input?: unknown;
  /** The tool's result, once the `tool-result` event came. */
  output?: unknown;
  /** The tool's error message, once the `tool-error` event came. */
  errorText?: string;
  /** The call's approval, once an `approval-request` came: its id, then the decision (`approval-response`). */
  approval?: { approvalId: string; approved?: boolean; reason?: string };
  /** Set when the call was denied (`tool-output-denied`): it did not run. */
  denied?: { reason?: string };
}

/** A message as rebuilt from its events. */
export interface AccumulatedMessage {
  messageId?: string;
  model?: string;
  /** All text parts joined (refusal parts excepted). */
  text: string;
  /** Text streamed as an OpenAI refusal. */
  refusal: string;
  /** All reasoning parts joined. */
  reasoning: string;
  toolCalls: AccumulatedToolCall[];
  sources: Omit<SourceEvent, 'type'>[];
  /** The latest progress. */
  progress?: Omit<ProgressEvent, 'type'>;
  /** Each `data` event, in order. */
  data: Omit<DataEvent, 'type'>[];
  finishReason?: FinishReason;
  rawFinishReason?: string | null;
  usage?: Usage;
  error?: { code: string; message: string; retryable: boolean; status?: number };
  /** Set when the stream ended with `abort`. */
  abortReason?: string;
  /** Whether a `finish`, `error` or `abort` event came. */
  ended: boolean;
}

/** Folds agent events into a message. */
export interface MessageAccumulator {
  /** Adds one event; O(1) apart from the event's own size. */
  push(event: AgentEvent): void;
  /**
   * The message so far, as a fresh object. Texts are joined at most once per read since the last
   * change, so read it when you render (each frame, or at the end), not after every delta.
   */
  readonly message: AccumulatedMessage;
}

/** Text built from pieces: appends are O(1), the string is joined once per read and cached. */
class Pieces {
  private parts: string[] = [];
  private joined = '';
  private dirty = false;
  add(piece: string): void {
    this.parts.push(piece);
    this.dirty = true;
  }
  toString(): string {
    if (this.dirty) {
      this.joined = this.parts.join('');
      // Keep one piece, so the next read joins only what came since.
      this.parts = [this.joined];
      this.dirty = false;
    }
    return this.joined;
  }
}

interface ToolState {
  toolCallId: string;
  toolName: string;
  input: Pieces;
  /** The incremental parser of the input text; undefined once the text turned out not to be JSON. */
  parser: PartialJsonParser | undefined;
  final?: { input: unknown };
  output?: { value: unknown };
  errorText?: string;
  approval?: { approvalId: string; approved?: boolean; reason?: string };
  denied?: { reason?: string };
}

/**
 * Creates an accumulator that rebuilds a message from agent events: texts from their deltas,
 * tool calls with their input text and the input parsed incrementally as it streams, sources,
 * progress, data, usage and how the stream ended. Total work is linear in the message's length.
 * @returns a fresh accumulator
 * @example
 * ```ts
 * const acc = createMessageAccumulator()
 * for await (const event of events) acc.push(event)
 * console.log(acc.message.text)
 * ```
 */
export function createMessageAccumulator(): MessageAccumulator {
  const text = new Pieces();
  const refusal = new Pieces();
  const reasoning = new Pieces();
  const refusalIds = new Set<string>();
  const tools = new Map<string, ToolState>();
  const sources: Omit<SourceEvent, 'type'>[] = [];
  const data: Omit<DataEvent, 'type'>[] = [];
  const head: Partial<AccumulatedMessage> = {};
  /** The tool call of each approval request, for its `approval-response` (which names only the approval). */
  const approvals = new Map<string, ToolState>();
  let ended = false;

  function tool(toolCallId: string, toolName: string): ToolState {
    let state = tools.get(toolCallId);
    if (state === undefined) {
      state = { toolCallId, toolName, input: new Pieces(), parser: createPartialJsonParser() };
      tools.set(toolCallId, state);
    } else if (state.toolName === '' && toolName !== '') {
      state.toolName = toolName;
    }
    return state;
  }

  function push(event: AgentEvent): void {
    switch (event.type) {
      case 'text-delta':
        (refusalIds.has(event.id) ? refusal : text).add(event.delta);
        return;
      case 'reasoning-delta':
        reasoning.add(event.delta);
        return;
      case 'tool-call-delta': {
        const state = tool(event.toolCallId, '');
        state.input.add(event.delta);
        if (state.parser !== undefined) {
          try {
            state.parser.write(event.delta);
          } catch {
            // Not JSON (some models stream plain text input): keep the text, stop parsing it.
            state.parser = undefined;
          }
        }
        return;
      }
      case 'message-start':
        head.messageId = event.messageId;
        if (event.model !== undefined) head.model = event.model;
        return;
      case 'text-start':
        if (event.refusal === true) refusalIds.add(event.id);
        return;
      case 'tool-call-start':
        tool(event.toolCallId, event.toolName);
        return;
      case 'tool-call':
        tool(event.toolCallId, event.toolName).final = { input: event.input };
        return;
      case 'tool-result':
        tool(event.toolCallId, event.toolName).output = { value: event.output };
        return;
      case 'tool-error':
        tool(event.toolCallId, event.toolName).errorText = event.message;
        return;
      case 'approval-request': {
        const state = tool(event.toolCallId, event.toolName);
        state.approval = { approvalId: event.approvalId };
        approvals.set(event.approvalId, state);
        return;
      }
      case 'approval-response': {
        const state = approvals.get(event.approvalId);
        if (state?.approval !== undefined) {
          state.approval.approved = event.approved;
          if (event.reason !== undefined) state.approval.reason = event.reason;
        }
        return;
      }
      case 'tool-output-denied':
        tool(event.toolCallId, event.toolName).denied = event.reason === undefined ? {} : { reason: event.reason };
        return;
      case 'source': {
        const { type: _type, ...source } = event;
        sources.push(source);
        return;
      }
      case 'progress': {
        const { type: _type, ...progress } = event;
        head.progress = progress;
        return;
      }
      case 'data':
        {
          const { type: _type, ...entry } = event;
          data.push(entry);
        }
        return;
      case 'usage': {
        const { type: _type, ...usage } = event;
        head.usage = usage;
        return;
      }
      case 'finish':
        ended = true;
        head.finishReason = event.finishReason;
        if (event.rawFinishReason !== undefined) head.rawFinishReason = event.rawFinishReason;
        if (event.usage !== undefined) head.usage = event.usage;
        return;
      case 'error':
        ended = true;
        head.error = { code: event.code, message: event.message, retryable: event.retryable };
        if (event.status !== undefined) head.error.status = event.status;
        return;
      case 'abort':
        ended = true;
        head.abortReason = event.reason ?? 'aborted';
        return;
      default:
        // text-end, reasoning start/end and steps carry nothing to keep.
        return;
    }
  }

  return {
    push,
    get message(): AccumulatedMessage {
      const toolCalls: AccumulatedToolCall[] = [];
      for (const state of tools.values()) {
        const call: AccumulatedToolCall = { toolCallId: state.toolCallId, toolName: state.toolName, inputText: state.input.toString() };
        if (state.final !== undefined) call.input = state.final.input;
        else if (state.parser !== undefined) call.partialInput = state.parser.value();
        if (state.output !== undefined) call.output = state.output.value;
        if (state.errorText !== undefined) call.errorText = state.errorText;
        if (state.approval !== undefined) call.approval = { ...state.approval };
        if (state.denied !== undefined) call.denied = { ...state.denied };
        toolCalls.push(call);
      }
      return {
        ...head,
        text: text.toString(),
        refusal: refusal.toString(),
        reasoning: reasoning.toString(),
        toolCalls,
        sources: sources.slice(),
        data: data.slice(),
        ended,
      };
    },
  };
}

/**
 * Rebuilds a whole message from a stream of agent events.
 * @param events - the events, sync or async
 * @returns the message once the events end
 * @example
 * ```ts
 * const message = await accumulateAgentEvents(provider.stream(request))
 * ```
 */
export async function accumulateAgentEvents(events: Iterable<AgentEvent> | AsyncIterable<AgentEvent>): Promise<AccumulatedMessage> {
  const accumulator = createMessageAccumulator();
  for await (const event of events) accumulator.push(event);
  return accumulator.message;
}
