/**
 * Agent events as the Vercel AI SDK UI message stream, protocol v1 (what `useChat` reads).
 *
 * @see https://ai-sdk.dev/docs/ai-sdk-ui/stream-protocol#ui-message-stream-protocol
 * @module
 */
import type { Format } from '../core/types.ts';
import { KEEP_ALIVE_COMMENT } from '../sse/encode.ts';
import { SSE_CONTENT_TYPE } from '../sse/sse-format.ts';
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

const json = JSON.stringify;

/**
 * The UI message stream v1 of the AI SDK: data-only SSE of `UIMessageChunk`s (`start`,
 * `start-step`, `text-*`, `reasoning-*`, `tool-input-*`, `tool-output-*`, `source-*`, `data-*`,
 * `finish`, `error`, `abort`), ending with `data: [DONE]`. Progress becomes a `data-progress` part
 * (reconciled by its ID, so the client shows the latest), a `data` event a `data-<name>` part.
 * A delta whose part was never started is started first, and parts still open at the end are
 * ended, so the client's strict part bookkeeping never fails. Stateful: make one per response.
 * @param options - message ID and usage reporting
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: aiSdkUiStream() })
 * ```
 */
export function aiSdkUiStream(options: AiSdkUiStreamOptions = {}): Format<AgentEvent> {
  let started = false;
  let ended = false;
  let stepOpen = false;
  const openText = new Set<string>();
  const openReasoning = new Set<string>();
  const startedTools = new Set<string>();
  let usage: Usage | undefined;

  function start(messageId: string | undefined): string {
    started = true;
    return messageId === undefined ? 'data: {"type":"start"}\n\n' : `data: {"type":"start","messageId":${json(messageId)}}\n\n`;
  }
  function closeOpenParts(): string {
    let out = '';
    for (const id of openText) out += `data: {"type":"text-end","id":${json(id)}}\n\n`;
    for (const id of openReasoning) out += `data: {"type":"reasoning-end","id":${json(id)}}\n\n`;
    openText.clear();
    openReasoning.clear();
    return out;
  }
  function end(last: string): string {
    ended = true;
    let out = closeOpenParts();
    if (stepOpen) out += 'data: {"type":"finish-step"}\n\n';
    stepOpen = false;
    if (options.sendUsage === true && usage !== undefined) {
      out += `data: {"type":"message-metadata","messageMetadata":{"usage":${json(usage)}}}\n\n`;
    }
    return out + last + AI_SDK_DONE;
  }

  function encodeEvent(event: AgentEvent): string {
    switch (event.type) {
      case 'text-delta': {
        const head = openText.has(event.id) ? '' : (openText.add(event.id), `data: {"type":"text-start","id":${json(event.id)}}\n\n`);
        return `${head}data: {"type":"text-delta","id":${json(event.id)},"delta":${json(event.delta)}}\n\n`;
      }
      case 'reasoning-delta': {
        const head = openReasoning.has(event.id)
          ? ''
          : (openReasoning.add(event.id), `data: {"type":"reasoning-start","id":${json(event.id)}}\n\n`);
        return `${head}data: {"type":"reasoning-delta","id":${json(event.id)},"delta":${json(event.delta)}}\n\n`;
      }
      case 'tool-call-delta':
        // The AI SDK fails on input deltas of a call it has not seen start; such a call's input
        // arrives whole with its `tool-call` event.
        if (!startedTools.has(event.toolCallId)) return '';
        return `data: {"type":"tool-input-delta","toolCallId":${json(event.toolCallId)},"inputTextDelta":${json(event.delta)}}\n\n`;
      case 'message-start':
        return '';
      case 'text-start':
        if (openText.has(event.id)) return '';
        openText.add(event.id);
        return `data: {"type":"text-start","id":${json(event.id)}}\n\n`;
      case 'text-end':
        if (!openText.delete(event.id)) return '';
        return `data: {"type":"text-end","id":${json(event.id)}}\n\n`;
      case 'reasoning-start':
        if (openReasoning.has(event.id)) return '';
        openReasoning.add(event.id);
        return `data: {"type":"reasoning-start","id":${json(event.id)}}\n\n`;
      case 'reasoning-end': {
        if (!openReasoning.delete(event.id)) return '';
        // The AI SDK's Anthropic provider keeps the thinking signature in provider metadata.
        const metadata = event.signature === undefined ? '' : `,"providerMetadata":{"anthropic":{"signature":${json(event.signature)}}}`;
        return `data: {"type":"reasoning-end","id":${json(event.id)}${metadata}}\n\n`;
      }
      case 'tool-call-start':
        if (startedTools.has(event.toolCallId)) return '';
        startedTools.add(event.toolCallId);
        return `data: {"type":"tool-input-start","toolCallId":${json(event.toolCallId)},"toolName":${json(event.toolName)}}\n\n`;
      case 'tool-call':
        return `data: ${json({ type: 'tool-input-available', toolCallId: event.toolCallId, toolName: event.toolName, input: event.input ?? {} })}\n\n`;
      case 'tool-result':
        return `data: ${json({ type: 'tool-output-available', toolCallId: event.toolCallId, output: event.output ?? null })}\n\n`;
      case 'tool-error':
        return `data: {"type":"tool-output-error","toolCallId":${json(event.toolCallId)},"errorText":${json(event.message)}}\n\n`;
      case 'source': {
        // What the UI parts cannot hold (snippet, score) travels in provider metadata under `sluice`.
        const extra: Record<string, string | number> = {};
        if (event.snippet !== undefined) extra.snippet = event.snippet;
        if (event.score !== undefined) extra.score = event.score;
        const metadata = event.snippet === undefined && event.score === undefined ? undefined : { sluice: extra };
        const chunk =
          event.url !== undefined
            ? { type: 'source-url', sourceId: event.id, url: event.url, title: event.title, providerMetadata: metadata }
            : { type: 'source-document', sourceId: event.id, mediaType: 'text/plain', title: event.title ?? event.id, providerMetadata: metadata };
        return `data: ${json(chunk)}\n\n`;
      }
      case 'progress':
        return `data: ${json({
          type: 'data-progress',
          id: event.id ?? 'progress',
          data: { done: event.done, total: event.total, message: event.message },
        })}\n\n`;
      case 'data':
        return `data: ${json({ type: `data-${event.name}`, data: event.data ?? null })}\n\n`;
      case 'step-start': {
        const head = stepOpen ? closeOpenParts() + 'data: {"type":"finish-step"}\n\n' : '';
        stepOpen = true;
        return head + 'data: {"type":"start-step"}\n\n';
      }
      case 'step-finish':
        if (!stepOpen) return '';
        stepOpen = false;
        return closeOpenParts() + 'data: {"type":"finish-step"}\n\n';
      case 'usage':
        usage = usageOf(event);
        return '';
      case 'finish':
        if (event.usage !== undefined) usage = event.usage;
        return end(`data: {"type":"finish","finishReason":${json(event.finishReason)}}\n\n`);
      case 'error':
        return end(`data: {"type":"error","errorText":${json(event.message)}}\n\n`);
      case 'abort':
        return end(event.reason === undefined ? 'data: {"type":"abort"}\n\n' : `data: {"type":"abort","reason":${json(event.reason)}}\n\n`);
    }
  }

  return {
    contentType: SSE_CONTENT_TYPE,
    headers: AI_SDK_UI_STREAM_HEADERS,
    heartbeat: KEEP_ALIVE_COMMENT,
    encode(event) {
      if (ended) return '';
      const body = encodeEvent(event);
      if (started) return body;
      return start(event.type === 'message-start' ? event.messageId : options.messageId) + body;
    },
    encodeError(error) {
      if (ended) return '';
      return (started ? '' : start(options.messageId)) + end(`data: {"type":"error","errorText":${json(error.message)}}\n\n`);
    },
  };
}
