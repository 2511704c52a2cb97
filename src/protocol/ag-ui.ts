/**
 * Agent events as AG-UI events over SSE (what `@ag-ui/client`'s `HttpAgent` reads).
 *
 * @see https://docs.ag-ui.com/concepts/events
 * @module
 */
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
import { eventOf, type AbortableAgentFormat } from './agent-format.ts';
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
  /** A tool call waits for approval: value `{ approvalId, toolCallId, toolName, input }` (the run then ends with an `interrupt` outcome). */
  approvalRequest: 'approval-request',
  /** The decision: value `{ approvalId, approved, reason? }`. */
  approvalResponse: 'approval-response',
} as const;

/** The `reason` of the AG-UI interrupts sluice sends for a tool call waiting for approval. */
export const AG_UI_APPROVAL_INTERRUPT_REASON = 'tool_approval';

/** An AG-UI event as this codec sends it: its `type` and fields (checked against @ag-ui/core's schemas in the tests). */
type AgUiEvent = { type: string } & Record<string, unknown>;

/** One event as one SSE frame: built as an object, serialized once (JSON has no raw line breaks). */
function line(event: AgUiEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/** AG-UI token counts are optional non-negative integers; an unknown count is left out. */
function usageEntry(usage: Usage): Record<string, number>[] {
  const entry: Record<string, number> = {};
  for (const key of ['inputTokens', 'outputTokens', 'totalTokens', 'reasoningTokens', 'cachedInputTokens'] as const) {
    const value = usage[key];
    if (value !== null) entry[key] = value;
  }
  return [entry];
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
export function agUi(options: AgUiOptions): AgUiFormat {
  if (typeof options.threadId !== 'string' || typeof options.runId !== 'string') {
    throw new TypeError('Expected `threadId` and `runId` strings (from the RunAgentInput).');
  }
  const { threadId, runId } = options;
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
  /** Approval requests not answered yet, by approval id. */
  const approvals = new Map<string, { toolCallId: string; toolName: string; input: unknown }>();
  let pauseAfterNext = false;

  function textStart(id: string): string {
    // AG-UI clients append to an existing message with the same ID, so a part ID seen before
    // (providers often restart at the same ID each step) gets a new message ID.
    let messageId = id;
    for (let n = 2; usedMessageIds.has(messageId); n++) messageId = `${id}-${n}`;
    usedMessageIds.add(messageId);
    openText.set(id, messageId);
    lastMessageId = messageId;
    return line({ type: 'TEXT_MESSAGE_START', messageId, role: 'assistant' });
  }
  function reasoningStart(id: string): string {
    openReasoning.add(id);
    return line({ type: 'REASONING_START', messageId: id }) + line({ type: 'REASONING_MESSAGE_START', messageId: id, role: 'reasoning' });
  }
  function reasoningEnd(id: string, signature: string | undefined): string {
    let out = line({ type: 'REASONING_MESSAGE_END', messageId: id });
    if (signature !== undefined) out += line({ type: 'REASONING_ENCRYPTED_VALUE', subtype: 'message', entityId: id, encryptedValue: signature });
    return out + line({ type: 'REASONING_END', messageId: id });
  }
  function toolStart(toolCallId: string, toolName: string): string {
    openTools.add(toolCallId);
    return line(
      lastMessageId === undefined
        ? { type: 'TOOL_CALL_START', toolCallId, toolCallName: toolName }
        : { type: 'TOOL_CALL_START', toolCallId, toolCallName: toolName, parentMessageId: lastMessageId },
    );
  }
  function toolEnd(toolCallId: string): string {
    openTools.delete(toolCallId);
    pendingTools.add(toolCallId);
    return line({ type: 'TOOL_CALL_END', toolCallId });
  }
  function closeOpen(): string {
    let out = '';
    for (const messageId of openText.values()) out += line({ type: 'TEXT_MESSAGE_END', messageId });
    for (const id of openReasoning) out += reasoningEnd(id, undefined);
    for (const id of openTools) out += toolEnd(id);
    openText.clear();
    openReasoning.clear();
    return out;
  }
  function closeStep(): string {
    if (step === undefined) return '';
    const stepName = `step-${step}`;
    step = undefined;
    return line({ type: 'STEP_FINISHED', stepName });
  }
  function runFinished(
    outcome:
      | { type: 'success'; pendingToolCallIds?: string[] }
      | { type: 'cancelled' }
      | { type: 'interrupt'; interrupts: { id: string; reason: string; message: string; toolCallId: string; metadata: Record<string, unknown> }[] },
  ): string {
    ended = true;
    const out = closeOpen() + closeStep();
    return out + line(usage === undefined ? { type: 'RUN_FINISHED', threadId, runId, outcome } : { type: 'RUN_FINISHED', threadId, runId, outcome, usage: usageEntry(usage) });
  }
  function runError(message: string, code: string): string {
    ended = true;
    return closeOpen() + closeStep() + line({ type: 'RUN_ERROR', message, code });
  }
  function result(toolCallId: string, content: string): string {
    pendingTools.delete(toolCallId);
    return line({ type: 'TOOL_CALL_RESULT', messageId: `${toolCallId}-result`, toolCallId, content, role: 'tool' });
  }

  function encodeEvent(event: AgentEvent): string {
    switch (event.type) {
      case 'text-delta': {
        const messageId = openText.get(event.id);
        const head = messageId === undefined ? textStart(event.id) : '';
        return head + line({ type: 'TEXT_MESSAGE_CONTENT', messageId: messageId ?? lastMessageId, delta: event.delta });
      }
      case 'reasoning-delta': {
        const head = openReasoning.has(event.id) ? '' : reasoningStart(event.id);
        return head + line({ type: 'REASONING_MESSAGE_CONTENT', messageId: event.id, delta: event.delta });
      }
      case 'tool-call-delta':
        // AG-UI's verifier rejects an empty delta and arguments of a call that is not open; a call
        // whose start never came is sent whole when its `tool-call` event comes.
        if (event.delta === '' || !openTools.has(event.toolCallId)) return '';
        return line({ type: 'TOOL_CALL_ARGS', toolCallId: event.toolCallId, delta: event.delta });
      case 'message-start':
        return '';
      case 'text-start':
        return openText.has(event.id) ? '' : textStart(event.id);
      case 'text-end': {
        const messageId = openText.get(event.id);
        if (messageId === undefined) return '';
        openText.delete(event.id);
        return line({ type: 'TEXT_MESSAGE_END', messageId });
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
        const args = JSON.stringify(event.input ?? {});
        return toolStart(event.toolCallId, event.toolName) + line({ type: 'TOOL_CALL_ARGS', toolCallId: event.toolCallId, delta: args }) + toolEnd(event.toolCallId);
      }
      case 'tool-result': {
        const head = openTools.has(event.toolCallId) ? toolEnd(event.toolCallId) : '';
        const content = typeof event.output === 'string' ? event.output : JSON.stringify(event.output ?? null);
        return head + result(event.toolCallId, content);
      }
      case 'tool-error': {
        const head = openTools.has(event.toolCallId) ? toolEnd(event.toolCallId) : '';
        const value = { toolCallId: event.toolCallId, toolName: event.toolName, message: event.message };
        return (
          head +
          line({ type: 'CUSTOM', name: AG_UI_CUSTOM_EVENTS.toolError, value }) +
          result(event.toolCallId, JSON.stringify({ error: event.message }))
        );
      }
      case 'source': {
        const { type: _type, ...value } = event;
        return line({ type: 'CUSTOM', name: AG_UI_CUSTOM_EVENTS.source, value });
      }
      case 'progress': {
        const { type: _type, ...value } = event;
        return line({ type: 'CUSTOM', name: AG_UI_CUSTOM_EVENTS.progress, value });
      }
      case 'data':
        return line({ type: 'CUSTOM', name: event.name, value: event.value ?? null });
      case 'approval-request': {
        approvals.set(event.approvalId, { toolCallId: event.toolCallId, toolName: event.toolName, input: event.input });
        const { type: _type, ...value } = event;
        return line({ type: 'CUSTOM', name: AG_UI_CUSTOM_EVENTS.approvalRequest, value });
      }
      case 'approval-response': {
        approvals.delete(event.approvalId);
        const { type: _type, ...value } = event;
        return line({ type: 'CUSTOM', name: AG_UI_CUSTOM_EVENTS.approvalResponse, value });
      }
      case 'tool-output-denied': {
        // The call gets a result, so the client's history has no call left unanswered.
        const head = openTools.has(event.toolCallId) ? toolEnd(event.toolCallId) : '';
        return head + result(event.toolCallId, JSON.stringify(event.reason === undefined ? { denied: true } : { denied: true, reason: event.reason }));
      }
      case 'step-start': {
        const head = step === undefined ? '' : closeOpen() + closeStep();
        step = event.step;
        return head + line({ type: 'STEP_STARTED', stepName: `step-${event.step}` });
      }
      case 'step-finish':
        return step === event.step ? closeOpen() + closeStep() : '';
      case 'usage':
        usage = usageOf(event);
        return '';
      case 'finish': {
        if (event.usage !== undefined) usage = event.usage;
        // Tool calls the run left without a result are the client's to answer (frontend tools).
        return runFinished(
          event.finishReason === 'tool-calls' && pendingTools.size > 0 ? { type: 'success', pendingToolCallIds: [...pendingTools] } : { type: 'success' },
        );
      }
      case 'abort':
        return runFinished({ type: 'cancelled' });
      case 'error':
        return runError(event.message, event.code);
    }
  }

  function encode(event: AgentEvent): string {
    if (ended) return '';
    let out = started ? '' : line({ type: 'RUN_STARTED', threadId, runId });
    started = true;
    out += encodeEvent(event);
    if (pauseAfterNext && !ended && approvals.size > 0) {
      // AG-UI 1.0's human in the loop: the run ends with the approvals it waits for; the next
      // RunAgentInput's `resume` answers them and a new run goes on from here.
      const interrupts = [...approvals].map(([id, call]) => ({
        id,
        reason: AG_UI_APPROVAL_INTERRUPT_REASON,
        message: `Approve the call of \`${call.toolName}\`?`,
        toolCallId: call.toolCallId,
        metadata: { toolName: call.toolName, input: call.input },
      }));
      out += runFinished({ type: 'interrupt', interrupts });
    }
    return out;
  }

  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat: KEEP_ALIVE_COMMENT,
    // AG-UI events carry no event ids: a logged event is encoded as its event.
    encode: (item) => encode(eventOf(item)),
    encodeError(error) {
      if (ended) return '';
      const head = started ? '' : line({ type: 'RUN_STARTED', threadId, runId });
      started = true;
      return head + runError(error.message, error.code);
    },
    // AG-UI's end of a run stopped before it completed: RUN_FINISHED with outcome `cancelled`.
    encodeAbort: (reason) => encode({ type: 'abort', reason }),
    pauseForApproval() {
      pauseAfterNext = true;
    },
  };
}

/** The AG-UI codec, which can end its run where the agent waits for approval. */
export type AgUiFormat = AbortableAgentFormat & {
  /**
   * Ends the run after the next event with `RUN_FINISHED` and an `interrupt` outcome naming every
   * approval still waiting (interrupt id = approval id); the run itself is not affected.
   */
  pauseForApproval(): void;
};
