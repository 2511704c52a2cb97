/**
 * Agent events as AG-UI events over SSE (what `@ag-ui/client`'s `HttpAgent` reads).
 *
 * @see https://docs.ag-ui.com/concepts/events
 * @module
 */
import type { Format } from '../core/types.ts';
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
import type { AgentEvent, Usage } from './types.ts';
import { usageOf } from './usage.ts';

/** Options of {@link agUi}. */
export interface AgUiOptions {
  /** The thread of the run, from the `RunAgentInput`. */
  threadId: string;
  /** The run, from the `RunAgentInput`. */
  runId: string;
}

/** The `CUSTOM` event names used for what AG-UI has no event of its own for. */
export const AG_UI_CUSTOM_EVENTS = {
  /** A RAG source: value `{ id, title?, url?, snippet?, score? }`. */
  source: 'source',
  /** Progress of a long task: value `{ id?, done, total?, message? }`. */
  progress: 'progress',
  /** A tool failed: value `{ toolCallId, toolName, message }` (also sent as the tool's result). */
  toolError: 'tool-error',
} as const;

const json = JSON.stringify;

function usageEntry(usage: Usage): string {
  // AG-UI token counts are optional non-negative integers; an unknown count is left out.
  let out = '';
  for (const key of ['inputTokens', 'outputTokens', 'totalTokens', 'reasoningTokens', 'cachedInputTokens'] as const) {
    const value = usage[key];
    if (value !== null) out += `${out === '' ? '' : ','}"${key}":${value}`;
  }
  return `[{${out}}]`;
}

/**
 * AG-UI events over SSE: `RUN_STARTED`, `TEXT_MESSAGE_START/CONTENT/END`, `REASONING_START`,
 * `REASONING_MESSAGE_START/CONTENT/END`, `REASONING_END` (a thinking signature as
 * `REASONING_ENCRYPTED_VALUE`), `TOOL_CALL_START/ARGS/END`, `TOOL_CALL_RESULT`,
 * `STEP_STARTED/FINISHED`, `CUSTOM` (`source`, `progress`, `tool-error`, and each `data` event
 * under its own name), then `RUN_FINISHED` (with usage and an outcome: `success`, or `cancelled`
 * for `abort`) or `RUN_ERROR`. Open messages and tool calls are ended before the run ends, as
 * AG-UI's event verifier requires. Stateful: make one per response.
 * @param options - the thread and run IDs of the request
 * @returns a fresh format for one response
 * @example
 * ```ts
 * const input = RunAgentInputSchema.parse(body)
 * await sendStream(res, events, { format: agUi({ threadId: input.threadId, runId: input.runId }) })
 * ```
 */
export function agUi(options: AgUiOptions): Format<AgentEvent> {
  if (typeof options.threadId !== 'string' || typeof options.runId !== 'string') {
    throw new TypeError('Expected `threadId` and `runId` strings (from the RunAgentInput).');
  }
  const runIds = `"threadId":${json(options.threadId)},"runId":${json(options.runId)}`;
  let started = false;
  let ended = false;
  let usage: Usage | undefined;
  /** The last text message, which tool calls that follow belong to. */
  let lastMessageId: string | undefined;
  let step: number | undefined;
  /** Open text messages: the event's part ID → its AG-UI message ID (fresh when a provider reuses a part ID). */
  const openText = new Map<string, string>();
  const usedMessageIds = new Set<string>();
  const openReasoning = new Set<string>();
  /** Tool calls started and not ended, and tool calls ended without a result yet. */
  const openTools = new Set<string>();
  const pendingTools = new Set<string>();

  const line = (body: string): string => `data: {${body}}\n\n`;

  function textStart(id: string): string {
    // AG-UI clients append to an existing message with the same ID, so a part ID seen before
    // (providers often restart at the same ID each step) gets a new message ID.
    let messageId = id;
    for (let n = 2; usedMessageIds.has(messageId); n++) messageId = `${id}-${n}`;
    usedMessageIds.add(messageId);
    openText.set(id, messageId);
    lastMessageId = messageId;
    return line(`"type":"TEXT_MESSAGE_START","messageId":${json(messageId)},"role":"assistant"`);
  }
  function reasoningStart(id: string): string {
    openReasoning.add(id);
    const messageId = json(id);
    return line(`"type":"REASONING_START","messageId":${messageId}`) + line(`"type":"REASONING_MESSAGE_START","messageId":${messageId},"role":"reasoning"`);
  }
  function reasoningEnd(id: string, signature: string | undefined): string {
    const messageId = json(id);
    let out = line(`"type":"REASONING_MESSAGE_END","messageId":${messageId}`);
    if (signature !== undefined) {
      out += line(`"type":"REASONING_ENCRYPTED_VALUE","subtype":"message","entityId":${messageId},"encryptedValue":${json(signature)}`);
    }
    return out + line(`"type":"REASONING_END","messageId":${messageId}`);
  }
  function toolStart(toolCallId: string, toolName: string): string {
    openTools.add(toolCallId);
    const parent = lastMessageId === undefined ? '' : `,"parentMessageId":${json(lastMessageId)}`;
    return line(`"type":"TOOL_CALL_START","toolCallId":${json(toolCallId)},"toolCallName":${json(toolName)}${parent}`);
  }
  function toolEnd(toolCallId: string): string {
    openTools.delete(toolCallId);
    pendingTools.add(toolCallId);
    return line(`"type":"TOOL_CALL_END","toolCallId":${json(toolCallId)}`);
  }
  function closeOpen(): string {
    let out = '';
    for (const messageId of openText.values()) out += line(`"type":"TEXT_MESSAGE_END","messageId":${json(messageId)}`);
    for (const id of openReasoning) out += reasoningEnd(id, undefined);
    for (const id of openTools) out += toolEnd(id);
    openText.clear();
    openReasoning.clear();
    return out;
  }
  function closeStep(): string {
    if (step === undefined) return '';
    const name = json(`step-${step}`);
    step = undefined;
    return line(`"type":"STEP_FINISHED","stepName":${name}`);
  }
  function runFinished(outcome: string): string {
    ended = true;
    let out = closeOpen() + closeStep();
    out += line(`"type":"RUN_FINISHED",${runIds},"outcome":${outcome}${usage === undefined ? '' : `,"usage":${usageEntry(usage)}`}`);
    return out;
  }
  function runError(message: string, code: string): string {
    ended = true;
    return closeOpen() + closeStep() + line(`"type":"RUN_ERROR","message":${json(message)},"code":${json(code)}`);
  }
  function result(toolCallId: string, content: string): string {
    pendingTools.delete(toolCallId);
    return line(`"type":"TOOL_CALL_RESULT","messageId":${json(`${toolCallId}-result`)},"toolCallId":${json(toolCallId)},"content":${json(content)},"role":"tool"`);
  }

  function encodeEvent(event: AgentEvent): string {
    switch (event.type) {
      case 'text-delta': {
        const messageId = openText.get(event.id);
        const head = messageId === undefined ? textStart(event.id) : '';
        return `${head}data: {"type":"TEXT_MESSAGE_CONTENT","messageId":${json(messageId ?? lastMessageId)},"delta":${json(event.delta)}}\n\n`;
      }
      case 'reasoning-delta': {
        const head = openReasoning.has(event.id) ? '' : reasoningStart(event.id);
        return `${head}data: {"type":"REASONING_MESSAGE_CONTENT","messageId":${json(event.id)},"delta":${json(event.delta)}}\n\n`;
      }
      case 'tool-call-delta':
        // AG-UI's verifier rejects an empty delta and arguments of a call that is not open; a call
        // whose start never came is sent whole when its `tool-call` event comes.
        if (event.delta === '' || !openTools.has(event.toolCallId)) return '';
        return `data: {"type":"TOOL_CALL_ARGS","toolCallId":${json(event.toolCallId)},"delta":${json(event.delta)}}\n\n`;
      case 'message-start':
        return '';
      case 'text-start':
        return openText.has(event.id) ? '' : textStart(event.id);
      case 'text-end': {
        const messageId = openText.get(event.id);
        if (messageId === undefined) return '';
        openText.delete(event.id);
        return line(`"type":"TEXT_MESSAGE_END","messageId":${json(messageId)}`);
      }
      case 'reasoning-start':
        return openReasoning.has(event.id) ? '' : reasoningStart(event.id);
      case 'reasoning-end':
        if (!openReasoning.delete(event.id)) return '';
        return reasoningEnd(event.id, event.signature);
      case 'tool-call-start':
        return openTools.has(event.toolCallId) ? '' : toolStart(event.toolCallId, event.toolName);
      case 'tool-call': {
        if (openTools.has(event.toolCallId)) return toolEnd(event.toolCallId);
        if (pendingTools.has(event.toolCallId)) return '';
        // A call that arrives whole (no streamed input) still gets its start, arguments and end.
        const args = json(event.input ?? {});
        return (
          toolStart(event.toolCallId, event.toolName) +
          line(`"type":"TOOL_CALL_ARGS","toolCallId":${json(event.toolCallId)},"delta":${json(args)}`) +
          toolEnd(event.toolCallId)
        );
      }
      case 'tool-result': {
        const head = openTools.has(event.toolCallId) ? toolEnd(event.toolCallId) : '';
        const content = typeof event.output === 'string' ? event.output : (json(event.output ?? null) as string);
        return head + result(event.toolCallId, content);
      }
      case 'tool-error': {
        const head = openTools.has(event.toolCallId) ? toolEnd(event.toolCallId) : '';
        const value = json({ toolCallId: event.toolCallId, toolName: event.toolName, message: event.message });
        return (
          head +
          line(`"type":"CUSTOM","name":"${AG_UI_CUSTOM_EVENTS.toolError}","value":${value}`) +
          result(event.toolCallId, json({ error: event.message }))
        );
      }
      case 'source': {
        const { type: _type, ...value } = event;
        return line(`"type":"CUSTOM","name":"${AG_UI_CUSTOM_EVENTS.source}","value":${json(value)}`);
      }
      case 'progress': {
        const { type: _type, ...value } = event;
        return line(`"type":"CUSTOM","name":"${AG_UI_CUSTOM_EVENTS.progress}","value":${json(value)}`);
      }
      case 'data':
        return line(`"type":"CUSTOM","name":${json(event.name)},"value":${json(event.data ?? null)}`);
      case 'step-start': {
        const head = step === undefined ? '' : closeOpen() + closeStep();
        step = event.step;
        return head + line(`"type":"STEP_STARTED","stepName":${json(`step-${event.step}`)}`);
      }
      case 'step-finish':
        return step === event.step ? closeOpen() + closeStep() : '';
      case 'usage':
        usage = usageOf(event);
        return '';
      case 'finish': {
        if (event.usage !== undefined) usage = event.usage;
        // Tool calls the run left without a result are the client's to answer (frontend tools).
        const pending = event.finishReason === 'tool-calls' && pendingTools.size > 0 ? `,"pendingToolCallIds":${json([...pendingTools])}` : '';
        return runFinished(`{"type":"success"${pending}}`);
      }
      case 'abort':
        return runFinished('{"type":"cancelled"}');
      case 'error':
        return runError(event.message, event.code);
    }
  }

  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat: KEEP_ALIVE_COMMENT,
    encode(event) {
      if (ended) return '';
      if (started) return encodeEvent(event);
      started = true;
      return line(`"type":"RUN_STARTED",${runIds}`) + encodeEvent(event);
    },
    encodeError(error) {
      if (ended) return '';
      const head = started ? '' : line(`"type":"RUN_STARTED",${runIds}`);
      started = true;
      return head + runError(error.message, error.code);
    },
  };
}
