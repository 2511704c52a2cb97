/**
 * Agent events as the Vercel AI SDK UI message stream, protocol v1 (what `useChat` reads).
 *
 * @see https://ai-sdk.dev/docs/ai-sdk-ui/stream-protocol#ui-message-stream-protocol
 * @module
 */
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
import { eventOf, type AbortableAgentFormat } from './agent-format.ts';
import type { AgentEvent, Usage } from './types.ts';
import { usageOf } from './usage.ts';

/** The response headers of the UI message stream protocol besides the SSE ones (ai: `UI_MESSAGE_STREAM_HEADERS`). */
export const AI_SDK_UI_STREAM_HEADERS: Readonly<Record<string, string>> = { 'x-vercel-ai-ui-message-stream': 'v1' };

/** The last line of a UI message stream. */
export const AI_SDK_DONE = 'data: [DONE]\n\n';

/** Options of {@link aiSdkUiStream}. */
export interface AiSdkUiStreamOptions {
  /** The message ID of the `start` chunk when the events carry no `message-start`. @defaultValue none (the client makes one) */
  messageId?: string;
  /**
   * Sends token usage as a `message-metadata` chunk `{ usage }` when it is known. Off by default
   * because message metadata is the application's own type in `useChat`.
   * @defaultValue false
   */
  sendUsage?: boolean;
}

/** Provider metadata on a part: values of any JSON shape under a provider key. */
type ProviderMetadata = Record<string, Record<string, unknown>>;

/** The `UIMessageChunk`s this codec sends (ai: `ui-message-chunks.ts`), typed so each frame is checked. */
type UiChunk =
  | { type: 'start'; messageId?: string }
  | { type: 'start-step' }
  | { type: 'finish-step' }
  | { type: 'text-start' | 'text-end' | 'reasoning-start'; id: string }
  | { type: 'reasoning-end'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'text-delta' | 'reasoning-delta'; id: string; delta: string }
  | { type: 'tool-input-start'; toolCallId: string; toolName: string }
  | { type: 'tool-input-delta'; toolCallId: string; inputTextDelta: string }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input: unknown }
  | { type: 'tool-output-available'; toolCallId: string; output: unknown }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string }
  | { type: 'tool-approval-response'; approvalId: string; approved: boolean; reason?: string }
  | { type: 'tool-output-denied'; toolCallId: string }
  | { type: 'source-url'; sourceId: string; url: string; title: string | undefined; providerMetadata: ProviderMetadata | undefined }
  | { type: 'source-document'; sourceId: string; mediaType: string; title: string; providerMetadata: ProviderMetadata | undefined }
  | { type: `data-${string}`; id?: string; data: unknown }
  | { type: 'message-metadata'; messageMetadata: unknown }
  | { type: 'finish'; finishReason: string }
  | { type: 'error'; errorText: string }
  | { type: 'abort'; reason?: string };

/** One chunk as one SSE frame: built as an object, serialized once (JSON has no raw line breaks). */
function frame(chunk: UiChunk): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

const FINISH_STEP = frame({ type: 'finish-step' });
const START_STEP = frame({ type: 'start-step' });

/**
 * The UI message stream v1 of the AI SDK: data-only SSE of `UIMessageChunk`s (`start`,
 * `start-step`, `text-*`, `reasoning-*`, `tool-input-*`, `tool-output-*`, `source-*`, `data-*`,
 * `finish`, `error`, `abort`), ending with `data: [DONE]`; a stream stopped from outside ends with
 * `abort` and `[DONE]` too. Progress becomes a `data-progress` part
 * (reconciled by its ID, so the client shows the latest), each `data` event a `data-<name>` part
 * of its own (ID `<toolCallId>-<name>-<n>` when it has a tool call).
 * A delta whose part was never started is started first, and parts still open at the end are
 * ended, so the client's strict part bookkeeping never fails. Stateful: make one per response.
 * @param options - message ID and usage reporting
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: aiSdkUiStream() })
 * ```
 */
export function aiSdkUiStream(options: AiSdkUiStreamOptions = {}): AiSdkUiStreamFormat {
  let started = false;
  let pauseAfterNext = false;
  let ended = false;
  let stepOpen = false;
  const openText = new Set<string>();
  const openReasoning = new Set<string>();
  const startedTools = new Set<string>();
  /** Data events sent per `<toolCallId>-<name>`, for their part IDs. */
  const dataCounts = new Map<string, number>();
  let usage: Usage | undefined;

  function start(messageId: string | undefined): string {
    started = true;
    return frame(messageId === undefined ? { type: 'start' } : { type: 'start', messageId });
  }
  function closeOpenParts(): string {
    let out = '';
    for (const id of openText) out += frame({ type: 'text-end', id });
    for (const id of openReasoning) out += frame({ type: 'reasoning-end', id });
    openText.clear();
    openReasoning.clear();
    return out;
  }
  function end(last: UiChunk): string {
    ended = true;
    let out = closeOpenParts();
    if (stepOpen) out += FINISH_STEP;
    stepOpen = false;
    if (options.sendUsage === true && usage !== undefined) out += frame({ type: 'message-metadata', messageMetadata: { usage } });
    return out + frame(last) + AI_SDK_DONE;
  }

  function encodeEvent(event: AgentEvent): string {
    switch (event.type) {
      case 'text-delta': {
        const head = openText.has(event.id) ? '' : (openText.add(event.id), frame({ type: 'text-start', id: event.id }));
        return head + frame({ type: 'text-delta', id: event.id, delta: event.delta });
      }
      case 'reasoning-delta': {
        const head = openReasoning.has(event.id) ? '' : (openReasoning.add(event.id), frame({ type: 'reasoning-start', id: event.id }));
        return head + frame({ type: 'reasoning-delta', id: event.id, delta: event.delta });
      }
      case 'tool-call-delta':
        // The AI SDK fails on input deltas of a call it has not seen start; such a call's input
        // arrives whole with its `tool-call` event.
        if (!startedTools.has(event.toolCallId)) return '';
        return frame({ type: 'tool-input-delta', toolCallId: event.toolCallId, inputTextDelta: event.delta });
      case 'message-start':
        return '';
      case 'text-start':
        if (openText.has(event.id)) return '';
        openText.add(event.id);
        return frame({ type: 'text-start', id: event.id });
      case 'text-end':
        if (!openText.delete(event.id)) return '';
        return frame({ type: 'text-end', id: event.id });
      case 'reasoning-start':
        if (openReasoning.has(event.id)) return '';
        openReasoning.add(event.id);
        return frame({ type: 'reasoning-start', id: event.id });
      case 'reasoning-end':
        if (!openReasoning.delete(event.id)) return '';
        // The AI SDK's Anthropic provider keeps the thinking signature in provider metadata.
        return frame(
          event.signature === undefined
            ? { type: 'reasoning-end', id: event.id }
            : { type: 'reasoning-end', id: event.id, providerMetadata: { anthropic: { signature: event.signature } } },
        );
      case 'tool-call-start':
        if (startedTools.has(event.toolCallId)) return '';
        startedTools.add(event.toolCallId);
        return frame({ type: 'tool-input-start', toolCallId: event.toolCallId, toolName: event.toolName });
      case 'tool-call':
        return frame({ type: 'tool-input-available', toolCallId: event.toolCallId, toolName: event.toolName, input: event.input ?? {} });
      case 'tool-result':
        return frame({ type: 'tool-output-available', toolCallId: event.toolCallId, output: event.output ?? null });
      case 'tool-error':
        return frame({ type: 'tool-output-error', toolCallId: event.toolCallId, errorText: event.message });
      case 'approval-request':
        return frame({ type: 'tool-approval-request', approvalId: event.approvalId, toolCallId: event.toolCallId });
      case 'approval-response':
        return frame(
          event.reason === undefined
            ? { type: 'tool-approval-response', approvalId: event.approvalId, approved: event.approved }
            : { type: 'tool-approval-response', approvalId: event.approvalId, approved: event.approved, reason: event.reason },
        );
      case 'tool-output-denied':
        return frame({ type: 'tool-output-denied', toolCallId: event.toolCallId });
      case 'source': {
        // What the UI parts cannot hold (snippet, score) travels in provider metadata under `sluice`.
        const extra: Record<string, string | number> = {};
        if (event.snippet !== undefined) extra.snippet = event.snippet;
        if (event.score !== undefined) extra.score = event.score;
        const metadata = event.snippet === undefined && event.score === undefined ? undefined : { sluice: extra };
        return frame(
          event.url !== undefined
            ? { type: 'source-url', sourceId: event.id, url: event.url, title: event.title, providerMetadata: metadata }
            : { type: 'source-document', sourceId: event.id, mediaType: 'text/plain', title: event.title ?? event.id, providerMetadata: metadata },
        );
      }
      case 'progress':
        return frame({ type: 'data-progress', id: event.toolCallId ?? 'progress', data: { done: event.done, total: event.total, message: event.message } });
      case 'data': {
        if (event.toolCallId === undefined) return frame({ type: `data-${event.name}`, data: event.value ?? null });
        // Each data event is a part of its own (the AI SDK replaces a data part that has the ID of
        // an earlier one, which would keep only the last section of a report); the ID still names
        // the tool call: `<toolCallId>-<name>-<n>`.
        const key = `${event.toolCallId}-${event.name}`;
        const n = (dataCounts.get(key) ?? 0) + 1;
        dataCounts.set(key, n);
        return frame({ type: `data-${event.name}`, id: `${key}-${n}`, data: event.value ?? null });
      }
      case 'step-start': {
        const head = stepOpen ? closeOpenParts() + FINISH_STEP : '';
        stepOpen = true;
        return head + START_STEP;
      }
      case 'step-finish':
        if (!stepOpen) return '';
        stepOpen = false;
        return closeOpenParts() + FINISH_STEP;
      case 'usage':
        usage = usageOf(event);
        return '';
      case 'finish':
        if (event.usage !== undefined) usage = event.usage;
        return end({ type: 'finish', finishReason: event.finishReason });
      case 'error':
        return end({ type: 'error', errorText: event.message });
      case 'abort':
        return end(event.reason === undefined ? { type: 'abort' } : { type: 'abort', reason: event.reason });
    }
  }

  function encode(event: AgentEvent): string {
    if (ended) return '';
    let body = encodeEvent(event);
    if (!started) body = start(event.type === 'message-start' ? event.messageId : options.messageId) + body;
    // The run waits for approvals: this response ends the way the AI SDK ends a step that asks for
    // approval, so `useChat` is ready to send `addToolApprovalResponse`'s answer in a new request.
    if (pauseAfterNext && !ended) body += end({ type: 'finish', finishReason: 'tool-calls' });
    return body;
  }

  return {
    contentType: SSE_CONTENT_TYPE,
    headers: AI_SDK_UI_STREAM_HEADERS,
    heartbeat: KEEP_ALIVE_COMMENT,
    // UI message chunks carry no event ids: a logged event is encoded as its event.
    encode: (item) => encode(eventOf(item)),
    encodeError(error) {
      if (ended) return '';
      return (started ? '' : start(options.messageId)) + end({ type: 'error', errorText: error.message });
    },
    encodeAbort: (reason) => encode({ type: 'abort', reason }),
    pauseForApproval() {
      pauseAfterNext = true;
    },
  };
}

/** The UI message stream codec, which can end its response where the run waits for approval. */
export type AiSdkUiStreamFormat = AbortableAgentFormat & {
  /**
   * Ends the response after the next event with `finish-step`, `finish` (reason `tool-calls`) and
   * `[DONE]`, as the AI SDK ends a step whose tools wait for approval: the client answers with a
   * new `POST /api/chat` and follows the rest there. The run itself is not affected.
   */
  pauseForApproval(): void;
};
