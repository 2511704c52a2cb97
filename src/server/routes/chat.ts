/**
 * The chat endpoints: the same model stream behind sluice's own protocol (`POST /v1/chat`), the
 * AI SDK UI message stream (`POST /api/chat`), AG-UI (`POST /v1/ag-ui`) and OpenAI Chat
 * Completions (`POST /v1/chat/completions`, `GET /v1/models`).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbortError } from '../../core/errors.ts';
import { sendStream } from '../../core/node/send-stream.ts';
import type { Format } from '../../core/types.ts';
import { agUi } from '../../protocol/ag-ui.ts';
import { aiSdkUiStream } from '../../protocol/ai-sdk-ui-stream.ts';
import { negotiateAgentFormat } from '../../protocol/negotiate-agent-format.ts';
import { openaiChunks } from '../../protocol/openai-chunks.ts';
import { toChatCompletion } from '../../protocol/to-chat-completion.ts';
import type { AgentEvent } from '../../protocol/types.ts';
import type { ChatRequest } from '../../providers/types.ts';
import { HttpError, sendJson } from '../http-error.ts';
import type { ModelRegistry } from '../models.ts';
import { readJson } from '../read-json.ts';
import {
  AgUiRunBody,
  AiSdkChatBody,
  fromAgUiMessages,
  fromAgUiTools,
  fromOpenAiMessages,
  fromOpenAiToolChoice,
  fromOpenAiTools,
  fromUiMessages,
  NativeChatBody,
  OpenAiChatBody,
} from '../request-schemas.ts';
import type { RouteHandler } from '../router.ts';

/** What the chat routes need from the app. */
export interface ChatRouteOptions {
  models: ModelRegistry;
  /** Milliseconds between heartbeats on idle streams. @defaultValue 15000 */
  heartbeatMs?: number;
}

/** A generation: the model's events for a request, started with the stream's signal. */
function generation(options: ChatRouteOptions, model: string | undefined, request: Omit<ChatRequest, 'model'>): (signal: AbortSignal) => AsyncIterable<AgentEvent> {
  // Resolve now, so an unknown model or a missing key is answered before any byte.
  const resolved = options.models.resolve(model);
  return (signal) => resolved.provider({ ...request, model: resolved.modelId }, { signal });
}

function stream(res: ServerResponse, options: ChatRouteOptions, source: (signal: AbortSignal) => AsyncIterable<AgentEvent>, format: Format<AgentEvent>, headers: Record<string, string> = {}): Promise<unknown> {
  const streamOptions: Parameters<typeof sendStream<AgentEvent>>[2] = { format, headers };
  if (options.heartbeatMs !== undefined) streamOptions.heartbeatMs = options.heartbeatMs;
  return sendStream(res, source, streamOptions);
}

/** Builds the chat route handlers. */
export function chatRoutes(options: ChatRouteOptions): Record<'chat' | 'aiSdk' | 'agUi' | 'completions' | 'models', RouteHandler> {
  return {
    async chat(req: IncomingMessage, res: ServerResponse) {
      const body = await readJson(req, NativeChatBody);
      const request: Omit<ChatRequest, 'model'> = { messages: body.messages };
      if (body.tools) request.tools = body.tools;
      const source = generation(options, body.model, request);
      const streamId = randomUUID();
      return stream(res, options, source, negotiateAgentFormat(req.headers.accept), { 'x-stream-id': streamId });
    },

    async aiSdk(req, res) {
      const body = await readJson(req, AiSdkChatBody);
      const source = generation(options, body.model, { messages: fromUiMessages(body.messages) });
      return stream(res, options, source, aiSdkUiStream({ messageId: `msg-${randomUUID()}` }));
    },

    async agUi(req, res) {
      const body = await readJson(req, AgUiRunBody);
      const request: Omit<ChatRequest, 'model'> = { messages: fromAgUiMessages(body.messages) };
      const tools = fromAgUiTools(body.tools);
      if (tools) request.tools = tools;
      const model = (body.forwardedProps as { model?: unknown } | undefined)?.model;
      const source = generation(options, typeof model === 'string' ? model : undefined, request);
      return stream(res, options, source, agUi({ threadId: body.threadId, runId: body.runId }));
    },

    async completions(req, res) {
      const body = await readJson(req, OpenAiChatBody);
      const request: Omit<ChatRequest, 'model'> = { messages: fromOpenAiMessages(body.messages) };
      const tools = fromOpenAiTools(body.tools);
      if (tools) request.tools = tools;
      const toolChoice = fromOpenAiToolChoice(body.tool_choice);
      if (typeof toolChoice === 'object' && !tools?.some((tool) => tool.name === toolChoice.toolName)) {
        const offered = tools?.map((tool) => `"${tool.name}"`).join(', ') || 'none';
        throw new HttpError(400, 'invalid_request', `Invalid \`tool_choice\`: it names the tool "${toolChoice.toolName}", which \`tools\` does not offer (offered: ${offered}).`);
      }
      if (toolChoice) request.toolChoice = toolChoice;
      const maxTokens = body.max_completion_tokens ?? body.max_tokens;
      if (maxTokens != null) request.maxOutputTokens = maxTokens;
      if (body.temperature != null) request.temperature = body.temperature;
      const source = generation(options, body.model, request);
      const meta = { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, model: body.model, created: Math.floor(Date.now() / 1000) };
      if (body.stream) {
        return stream(res, options, source, openaiChunks({ ...meta, includeUsage: body.stream_options?.include_usage === true }));
      }
      const controller = new AbortController();
      const onClose = (): void => {
        if (!res.writableFinished) controller.abort(new DOMException('The client disconnected.', 'AbortError'));
      };
      res.on('close', onClose);
      if (res.destroyed) onClose();
      try {
        const completion = await toChatCompletion(source(controller.signal), meta);
        if (!res.destroyed) sendJson(res, 200, completion);
      } catch (error) {
        // The client left and the generation stopped for it: a disconnect, not a failure. There is
        // nothing to log and no one to answer.
        if (controller.signal.aborted && isAbortError(error)) return undefined;
        throw error;
      } finally {
        res.off('close', onClose);
      }
      return undefined;
    },

    models(_req, res) {
      const created = Math.floor(Date.now() / 1000);
      sendJson(res, 200, {
        object: 'list',
        data: options.models.list().map((id) => ({ id, object: 'model', created, owned_by: id === 'local' ? 'sluice' : id.slice(0, id.indexOf(':')) })),
      });
    },
  };
}
