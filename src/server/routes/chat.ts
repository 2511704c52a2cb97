/**
 * The chat endpoints: the same model stream behind sluice's own protocol (`POST /v1/chat`), the
 * AI SDK UI message stream (`POST /api/chat`), AG-UI (`POST /v1/ag-ui`) and OpenAI Chat
 * Completions (`POST /v1/chat/completions`, `GET /v1/models`).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runAgent } from '../../agent/run-agent.ts';
import type { AnyAgentTool, ApprovalGate, DecidedApproval } from '../../agent/types.ts';
import { isAbortError, isSluiceError, SluiceError } from '../../core/errors.ts';
import { agUi } from '../../protocol/ag-ui.ts';
import { aiSdkUiStream } from '../../protocol/ai-sdk-ui-stream.ts';
import { negotiateAgentFormat } from '../../protocol/negotiate-agent-format.ts';
import { openaiChunks } from '../../protocol/openai-chunks.ts';
import { toChatCompletion } from '../../protocol/to-chat-completion.ts';
import type { AgentEvent } from '../../protocol/types.ts';
import { isProviderError } from '../../providers/errors.ts';
import type { ChatRequest } from '../../providers/types.ts';
import { errorEventStatus } from '../error-status.ts';
import { HttpError, quote, sendJson } from '../http-error.ts';
import type { ModelRegistry } from '../models.ts';
import { hiddenFailureOf, publicEvents, publicMessageOf, RunFailedError, type HiddenFailure } from '../public-errors.ts';
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
import type { StreamContext } from '../runs/stream-context.ts';
import { storedAgentRequest } from '../runs/takeover-agent.ts';
import { chatMessageId } from './streams.ts';
import { alreadyAnswered, answerClientApprovals, answerLoggedApprovals, approvalNotFound, approvalsForRun, pauseForApprovals, uiApprovalResponses } from '../approval-continuation.ts';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../approval-gate.ts';

/** What the chat routes need from the app. */
export interface ChatRouteOptions {
  models: ModelRegistry;
  /** The store, runs and followers the streaming answers go through. */
  streams: StreamContext;
  /** The tools the agent runs itself (`/v1/chat`, `/api/chat`, `/v1/ag-ui`). */
  tools: readonly AnyAgentTool[];
  /** How long a run waits for an approval before the call is denied (reason `timeout`). @defaultValue 600000 */
  approvalTimeoutMs?: number;
}

/** The agent's approval options for one run, whose run it is and whom its request counts against. */
interface RunApprovals {
  approvals?: ApprovalGate;
  decidedApprovals?: readonly DecidedApproval[];
  owner?: string | undefined;
  /** The request's quota subject (its key, else its client's address): `publish_event` counts there. */
  subject?: string | undefined;
}

/**
 * A generation: the events for a request, started with the run's signal — the one place a request
 * becomes the run's event source. The chat protocols run the agent (the model plus the server's
 * tools; the request's own tools are offered to the model and their calls streamed back to the
 * client); the OpenAI gateway only forwards to the model.
 */
function generation(
  options: ChatRouteOptions,
  model: string | undefined,
  request: Omit<ChatRequest, 'model'>,
  mode: 'agent' | 'gateway' = 'agent',
  approvals: RunApprovals = {},
): (signal: AbortSignal) => AsyncIterable<AgentEvent> {
  // Resolve now, so an unknown model or a missing key is answered before any byte.
  const resolved = options.models.resolve(model);
  if (mode === 'gateway') return (signal) => resolved.provider({ ...request, model: resolved.modelId }, { signal });
  const { messages, tools: clientTools, ...rest } = request;
  return (signal) =>
    runAgent({ ...rest, ...approvals, provider: resolved.provider, model: resolved.modelId, messages, tools: options.tools, ...(clientTools ? { clientTools } : {}), signal });
}

/**
 * AG-UI `resume` entries as approval answers: `resolved` with a payload `{approved, reason?}` (a
 * bare `resolved` approves), `cancelled` denies.
 */
function agUiResumeAnswers(resume: unknown): { approvalId: string; toolCallId: string; approved: boolean; reason?: string }[] {
  if (!Array.isArray(resume)) return [];
  const out: { approvalId: string; toolCallId: string; approved: boolean; reason?: string }[] = [];
  for (const entry of resume as { interruptId?: unknown; status?: unknown; payload?: unknown }[]) {
    if (typeof entry?.interruptId !== 'string') continue;
    const payload = (typeof entry.payload === 'object' && entry.payload !== null ? entry.payload : {}) as { approved?: unknown; reason?: unknown };
    const approved = entry.status === 'resolved' && payload.approved !== false;
    const reason = typeof payload.reason === 'string' ? payload.reason : entry.status === 'cancelled' ? 'cancelled' : undefined;
    out.push({ approvalId: entry.interruptId, toolCallId: '', approved, ...(reason === undefined ? {} : { reason }) });
  }
  return out;
}

/**
 * Clients of these protocols have no way to resume (AG-UI's `HttpAgent`, OpenAI SDKs): when they
 * leave, the generation stops at once, as it did before runs.
 */
const NO_RESUME = { detachGraceMs: 0 } as const;

/** Builds the chat route handlers. */
export function chatRoutes(options: ChatRouteOptions): Record<'chat' | 'aiSdk' | 'agUi' | 'completions' | 'models', RouteHandler> {
  const context = options.streams;
  const approvalTimeoutMs = options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  return {
    async chat(req: IncomingMessage, res: ServerResponse, { owner }) {
      const body = await readJson(req, NativeChatBody);
      const request: Omit<ChatRequest, 'model'> = { messages: body.messages };
      if (body.tools) request.tools = body.tools;
      const format = negotiateAgentFormat(req.headers.accept, { padding: context.padding, errorStatus: errorEventStatus });
      const streams = await context.streams();
      const id = randomUUID();
      const approvals = approvalsForRun(streams, id, approvalTimeoutMs);
      const source = generation(options, body.model, request, 'agent', { approvals: approvals.gate, owner, subject: context.quotas.subject(req, owner) });
      const run = await context.quotas.startRun(req, owner, 'streams', () => streams.start({ id, source, owner, request: storedAgentRequest(body.model, request, options.tools) }));
      approvals.bind(run);
      // The first response is a follower like any resume, from the start.
      return streams.follow(res, { id: run.id, format, run });
    },

    async aiSdk(req, res, { owner }) {
      const body = await readJson(req, AiSdkChatBody);
      const streams = await context.streams();
      // `addToolApprovalResponse`'s request. A decision may only answer an approval this server
      // logged in the caller's chat and nobody answered yet; the call then runs with the logged
      // input, never the client's copy of it.
      const decided = uiApprovalResponses(body.messages);
      const lastMessageId = (body.messages.at(-1) as { id?: string } | undefined)?.id;
      let decidedApprovals: DecidedApproval[] | undefined;
      if (decided.length > 0) {
        const waiting = body.id === undefined ? undefined : await streams.store.getChatStream(body.id, owner);
        const info = waiting === undefined ? undefined : await streams.store.info(waiting);
        if (waiting === undefined || info === undefined || info.owner !== owner) throw approvalNotFound(decided[0]!);
        const { fresh, already } = await answerLoggedApprovals(streams.store, waiting, info.lastId, decided);
        if (fresh.length === 0) throw alreadyAnswered(already);
        if (info.state === 'running') {
          // The run waits: it heard the answers; this response follows it from the request it answers,
          // in the message that asked (its id is the one the client holds).
          const all = [...fresh, ...already];
          const after = Math.max(...all.map((decision) => decision.logged.eventId));
          const format = aiSdkUiStream({ padding: context.padding, messageId: lastMessageId ?? chatMessageId(waiting) });
          const until = pauseForApprovals(format, info.lastId, new Set(all.map((decision) => decision.approvalId)));
          return context.quotas.follow(req, owner, () => streams.follow(res, { id: waiting, after, format, until }));
        }
        // The run that asked has ended but its log is here and the approvals were still open (now
        // answered, so a replay is refused): a new run carries the decisions out, from the messages.
        decidedApprovals = fresh.map((decision) => ({
          toolCallId: decision.logged.toolCallId,
          approvalId: decision.approvalId,
          approved: decision.approved,
          ...(decision.reason === undefined ? {} : { reason: decision.reason }),
          call: { toolName: decision.logged.toolName, input: decision.logged.input },
        }));
      }
      const id = randomUUID();
      const approvals = approvalsForRun(streams, id, approvalTimeoutMs);
      const request: Omit<ChatRequest, 'model'> = { messages: fromUiMessages(body.messages) };
      const source = generation(options, body.model, request, 'agent', {
        approvals: approvals.gate,
        owner,
        subject: context.quotas.subject(req, owner),
        ...(decidedApprovals === undefined ? {} : { decidedApprovals }),
      });
      const meta: Record<string, string> = {};
      if (body.id !== undefined) meta.chatId = body.id;
      const run = await context.quotas.startRun(req, owner, 'streams', async () => {
        // Remembered before the run starts (a reload right after can already resume it), so that
        // nothing is awaited between starting the run and following it: a failure here starts nothing.
        if (body.id !== undefined) await streams.store.setChatStream(body.id, id, owner);
        return streams.start({ id, source, owner, meta, request: storedAgentRequest(body.model, request, options.tools) });
      });
      approvals.bind(run);
      // Decisions on an earlier message go on in that message.
      const format = aiSdkUiStream({ padding: context.padding, messageId: decidedApprovals !== undefined && lastMessageId !== undefined ? lastMessageId : chatMessageId(id) });
      return streams.follow(res, { id, format, run, until: pauseForApprovals(format, 0) });
    },

    async agUi(req, res, { owner }) {
      const body = await readJson(req, AgUiRunBody);
      const streams = await context.streams();
      const threadKey = `ag-ui:${body.threadId}`;
      const format = agUi({ threadId: body.threadId, runId: body.runId, padding: context.padding });
      // AG-UI 1.0's resume: the answers to the interrupts of the thread's run, which goes on here.
      const resume = agUiResumeAnswers((body as { resume?: unknown }).resume);
      if (resume.length > 0) {
        const waiting = await streams.store.getChatStream(threadKey, owner);
        const info = waiting === undefined ? undefined : await streams.store.info(waiting);
        const answered = waiting !== undefined && info !== undefined && info.owner === owner ? await answerClientApprovals(streams.store, waiting, resume) : undefined;
        if (waiting === undefined || info === undefined || answered === undefined) {
          throw new HttpError(409, 'interrupt_expired', `The run that asked for ${resume.map((entry) => quote(entry.approvalId)).join(', ')} is gone (expired, or another API key's); start a new run.`);
        }
        const until = pauseForApprovals(format, info.lastId, answered.answered);
        return context.quotas.follow(req, owner, () => streams.follow(res, { id: waiting, after: answered.after, format, until }));
      }
      const request: Omit<ChatRequest, 'model'> = { messages: fromAgUiMessages(body.messages) };
      const tools = fromAgUiTools(body.tools);
      if (tools) request.tools = tools;
      const model = (body.forwardedProps as { model?: unknown } | undefined)?.model;
      const id = randomUUID();
      const approvals = approvalsForRun(streams, id, approvalTimeoutMs);
      const source = generation(options, typeof model === 'string' ? model : undefined, request, 'agent', { approvals: approvals.gate, owner, subject: context.quotas.subject(req, owner) });
      const run = await context.quotas.startRun(req, owner, 'streams', async () => {
        // The thread's run, for the `resume` that answers its interrupts.
        await streams.store.setChatStream(threadKey, id, owner);
        return streams.start({ id, source, owner, ...NO_RESUME });
      });
      approvals.bind(run);
      const clientTools = new Set((tools ?? []).map((tool) => tool.name));
      return streams.follow(res, { id, format, run, until: pauseForApprovals(format, 0, undefined, clientTools) });
    },

    async completions(req, res, { owner }) {
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
      const source = generation(options, body.model, request, 'gateway');
      const meta = { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, model: body.model, created: Math.floor(Date.now() / 1000) };
      if (body.stream) {
        const format = openaiChunks({ ...meta, padding: context.padding, includeUsage: body.stream_options?.include_usage === true });
        const streams = await context.streams();
        const run = await context.quotas.startRun(req, owner, 'streams', () => streams.start({ source, owner, ...NO_RESUME }));
        return streams.follow(res, { id: run.id, format, run });
      }
      const controller = new AbortController();
      const onClose = (): void => {
        if (!res.writableFinished) controller.abort(new DOMException('The client disconnected.', 'AbortError'));
      };
      res.on('close', onClose);
      if (res.destroyed) onClose();
      // A provider's `error` event is answered in sluice's own words; its detail goes to the log
      // (the thrown error's `cause`), never to the client.
      let hidden: HiddenFailure | undefined;
      try {
        const completion = await context.quotas.generate(req, owner, () =>
          toChatCompletion(
            publicEvents(source(controller.signal), (failure) => (hidden = failure)),
            { ...meta, signal: controller.signal },
          ),
        );
        if (!res.destroyed) sendJson(res, 200, completion);
      } catch (error) {
        // The client left and the generation stopped for it: a disconnect, not a failure. There is
        // nothing to log and no one to answer.
        if (controller.signal.aborted && isAbortError(error)) return undefined;
        // A provider's failure: an error event (made public already) or a ProviderError thrown
        // before the first event.
        const failure = hidden !== undefined && isSluiceError(error) && error.code === hidden.code ? hidden : isProviderError(error) ? hiddenFailureOf(error) : undefined;
        if (failure !== undefined && isSluiceError(error)) {
          // toChatCompletion answers the event's `status`, the upstream's own (500, 529): the server answers its code's.
          const status = errorEventStatus({ code: error.code, status: error.status });
          // The cause is what the log prints: one escaped, bounded line (the upstream's text may
          // echo the client's model id, line breaks included), the ProviderError within it.
          throw new SluiceError(error.code, publicMessageOf(error) ?? error.message, { status, cause: new RunFailedError(meta.id, failure) });
        }
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
