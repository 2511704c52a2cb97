/**
 * The request bodies of the chat endpoints (zod schemas, lenient about fields they don't use) and
 * their conversion to the provider's `ChatRequest` messages and tools.
 *
 * @module
 */
import { deniedOutput } from '../agent/approval.ts';
import type { infer as ZodInfer, RefinementCtx } from 'zod';
import { importOptional } from '../core/require-optional.ts';
import type { ChatMessage, MessagePart, ToolDefinition } from '../providers/types.ts';
import { quote } from './http-error.ts';

const { z } = await importOptional('zod', () => import('zod'));

const MAX_MESSAGES = 1000;

/**
 * The most characters of an id a client chooses where the server keeps it or sends it back with
 * every event: a chat's (`/api/chat`'s `id`, a key in the store for as long as its stream is
 * kept), an AG-UI thread's and run's, a tool call's. Ids that clients generate are UUIDs or
 * shorter; 256 leaves room for ids of their own making.
 */
export const MAX_ID = 256;

/** An id a client chooses (see {@link MAX_ID}), `what` naming it in the error. */
const clientId = (what: string) => z.string().max(MAX_ID, `${what} is at most ${MAX_ID} characters`);

/** The most characters of a reason given with an approval answer, on every route that takes one. */
export const MAX_APPROVAL_REASON = 1000;

/** The reason of an approval answer, as `POST /v1/streams/:id/approvals/:approvalId` takes it. */
export const approvalReason = z.string().max(MAX_APPROVAL_REASON, `a reason is at most ${MAX_APPROVAL_REASON} characters`);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Refuses a string `reason` longer than {@link MAX_APPROVAL_REASON} in `holder` (anything else in
 * it stays the route's business, as before).
 */
function checkReason(holder: unknown, ctx: RefinementCtx, path: (string | number)[]): void {
  if (!isRecord(holder) || typeof holder['reason'] !== 'string') return;
  const checked = approvalReason.safeParse(holder['reason']);
  if (!checked.success) ctx.addIssue({ code: 'custom', path: [...path, 'reason'], message: checked.error.issues[0]?.message ?? 'invalid reason' });
}

const jsonSchema = z.record(z.string(), z.unknown());

// ---------- POST /v1/chat -------------------------------------------------------------------

/** The most parts one message may have. */
const MAX_PARTS = 256;

const nativeTool = z
  .object({
    name: z.string().min(1).max(128),
    description: z.string().optional(),
    inputSchema: jsonSchema.optional(),
    parameters: jsonSchema.optional(),
  })
  .transform((tool): ToolDefinition => {
    const out: ToolDefinition = { name: tool.name, inputSchema: tool.inputSchema ?? tool.parameters ?? { type: 'object', properties: {} } };
    if (tool.description !== undefined) out.description = tool.description;
    return out;
  });

const toolCallId = z.string().min(1).max(MAX_ID);
const toolName = z.string().min(1).max(128);
/** Any JSON value, but present: `null` says "nothing" (a missing key is a mistake, not a value). */
const present = (field: string) => z.unknown().refine((value) => value !== undefined, `\`${field}\` is required (any JSON value)`);

/**
 * A message part: the provider layer's `MessagePart`, with the fields of the agent events, so a
 * client can copy a `tool-call` event into an assistant message and answer it with a `tool-result`.
 */
const nativePart = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text'), text: z.string() }),
    z.object({ type: z.literal('reasoning'), text: z.string(), signature: z.string().optional() }),
    z.object({ type: z.literal('tool-call'), toolCallId, toolName, input: present('input') }),
    z.object({ type: z.literal('tool-result'), toolCallId, toolName, output: present('output'), isError: z.boolean().optional() }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? 'expected `type` to be "text", "reasoning", "tool-call" or "tool-result"' : undefined,
  },
);

const nativeParts = z.array(nativePart).min(1, 'an array of parts needs at least one part').max(MAX_PARTS);

/**
 * `content`: a string, or an array of parts. Chosen by the value's type rather than with
 * `z.union`, so a bad part is reported where it is (a union only says "Invalid input").
 */
const nativeContent = z.unknown().transform((value, ctx): string | MessagePart[] => {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected a string or an array of parts' });
    return z.NEVER;
  }
  const parsed = nativeParts.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return parsed.data.map((part): MessagePart => {
    if (part.type === 'reasoning') return part.signature === undefined ? { type: 'reasoning', text: part.text } : { type: 'reasoning', text: part.text, signature: part.signature };
    if (part.type === 'tool-call') return { type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: part.input };
    if (part.type === 'tool-result') {
      const result: MessagePart = { type: 'tool-result', toolCallId: part.toolCallId, toolName: part.toolName, output: part.output };
      if (part.isError !== undefined) result.isError = part.isError;
      return result;
    }
    return part;
  });
});

/** The part types each role may carry. */
const PARTS_OF_ROLE: Record<ChatMessage['role'], readonly MessagePart['type'][]> = {
  system: ['text'],
  user: ['text'],
  assistant: ['text', 'reasoning', 'tool-call'],
  tool: ['tool-result'],
};

/** Where a part that a role may not carry belongs instead. */
const WHERE_PART_BELONGS: Record<MessagePart['type'], string> = {
  text: 'in a system, user or assistant message',
  reasoning: 'in an assistant message',
  'tool-call': 'in an assistant message (copy the `tool-call` event there)',
  'tool-result': 'in a message with role "tool", right after the assistant message with its tool-call',
};

/**
 * Checks that roles and parts fit, and that tool calls and results pair up the way the providers
 * require: every tool-result answers a tool-call of the assistant message just before (ids unique
 * in the conversation, the same `toolName`), and every tool-call has its result before the next
 * system, user or assistant message (or the end).
 */
function checkConversation(messages: ChatMessage[], ctx: RefinementCtx): void {
  const calls = new Map<string, { toolName: string; answered: boolean }>();
  /** The calls of the latest assistant message still waiting for their result: id -> where the call is. */
  const pending = new Map<string, (string | number)[]>();
  const unanswered = (): boolean => {
    const [id, path] = pending.entries().next().value ?? [];
    if (id === undefined || path === undefined) return false;
    ctx.addIssue({
      code: 'custom',
      path,
      message: `the tool-call ${quote(id)} has no tool-result: send its result in a message with role "tool" right after this assistant message`,
    });
    return true;
  };
  for (const [i, message] of messages.entries()) {
    const parts = typeof message.content === 'string' ? [] : message.content;
    if (message.role === 'tool' && typeof message.content === 'string') {
      ctx.addIssue({ code: 'custom', path: [i, 'content'], message: 'a "tool" message takes an array of tool-result parts, not a string' });
      return;
    }
    for (const [j, part] of parts.entries()) {
      if (!PARTS_OF_ROLE[message.role].includes(part.type)) {
        ctx.addIssue({ code: 'custom', path: [i, 'content', j, 'type'], message: `a ${part.type} part cannot be in a ${message.role} message; it belongs ${WHERE_PART_BELONGS[part.type]}` });
        return;
      }
    }
    // Results come right after their calls: any other message first leaves a call unanswered.
    if (message.role !== 'tool' && unanswered()) return;
    for (const [j, part] of parts.entries()) {
      const path = [i, 'content', j];
      if (part.type === 'tool-call') {
        if (calls.has(part.toolCallId)) {
          ctx.addIssue({ code: 'custom', path: [...path, 'toolCallId'], message: `an earlier tool-call already has the id ${quote(part.toolCallId)}; each call needs its own` });
          return;
        }
        calls.set(part.toolCallId, { toolName: part.toolName, answered: false });
        pending.set(part.toolCallId, path);
      } else if (part.type === 'tool-result') {
        // A call not answered yet is always one of the latest assistant message's (see above).
        const call = calls.get(part.toolCallId);
        if (call === undefined || call.answered) {
          const problem = call === undefined ? `no earlier assistant tool-call has the id ${quote(part.toolCallId)}` : `the tool-call ${quote(part.toolCallId)} already has a tool-result`;
          ctx.addIssue({ code: 'custom', path: [...path, 'toolCallId'], message: problem });
          return;
        }
        if (call.toolName !== part.toolName) {
          ctx.addIssue({ code: 'custom', path: [...path, 'toolName'], message: `the tool-call ${quote(part.toolCallId)} is to ${quote(call.toolName)}, not ${quote(part.toolName)}` });
          return;
        }
        call.answered = true;
        pending.delete(part.toolCallId);
      }
    }
  }
  unanswered();
}

/**
 * `POST /v1/chat`: `{"messages":[{"role","content"}], "model"?, "tools"?}`. `content` is a string,
 * or an array of parts (`text`, `reasoning`, `tool-call`, `tool-result`); role `tool` carries the
 * results of the client's own tools, answering the tool-calls of the assistant message before it.
 */
export const NativeChatBody = z.object({
  messages: z
    .array(z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: nativeContent }))
    .min(1, 'at least one message is needed')
    .max(MAX_MESSAGES)
    .transform((messages): ChatMessage[] => messages.map((m) => ({ role: m.role, content: m.content })))
    .superRefine(checkConversation),
  model: z.string().min(1).optional(),
  tools: z.array(nativeTool).max(128).optional(),
});

// ---------- POST /api/chat (AI SDK UIMessage) -----------------------------------------------

// A tool part's `approval` (`addToolApprovalResponse`) carries the person's reason.
const uiPart = z.looseObject({ type: z.string() }).superRefine((part, ctx) => checkReason(part['approval'], ctx, ['approval']));

/** `POST /api/chat`: the AI SDK's `useChat` body `{ id, messages: UIMessage[], trigger, … }`. */
export const AiSdkChatBody = z.looseObject({
  id: clientId('a chat id').optional(),
  messages: z
    .array(z.looseObject({ id: z.string().optional(), role: z.enum(['system', 'user', 'assistant']), parts: z.array(uiPart) }))
    .min(1, 'at least one message is needed')
    .max(MAX_MESSAGES),
  model: z.string().min(1).optional(),
});

/**
 * Turns AI SDK `UIMessage`s into chat messages: text, reasoning, and tool calls with their outputs.
 * An assistant message that ran tools over several steps becomes several messages, each step's
 * tool results right after its calls, so the model sees them in the order they happened.
 */
export function fromUiMessages(messages: ZodInfer<typeof AiSdkChatBody>['messages']): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of messages) {
    let parts: MessagePart[] = [];
    let results: MessagePart[] = [];
    const flush = (): void => {
      if (parts.length > 0) {
        const onlyText = parts.every((p) => p.type === 'text');
        out.push({ role: message.role, content: onlyText ? parts.map((p) => (p as { text: string }).text).join('') : parts });
      }
      if (results.length > 0) out.push({ role: 'tool', content: results });
      parts = [];
      results = [];
    };
    for (const part of message.parts) {
      const p = part as Record<string, unknown>;
      const isTool = (typeof p.type === 'string' && p.type.startsWith('tool-')) || p.type === 'dynamic-tool';
      // A text or reasoning part after tool results belongs to the next step.
      if (!isTool && results.length > 0 && (p.type === 'text' || p.type === 'reasoning')) flush();
      if (p.type === 'text' && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
      else if (p.type === 'reasoning' && typeof p.text === 'string' && message.role === 'assistant') parts.push({ type: 'reasoning', text: p.text });
      else if (isTool) {
        const toolName = p.type === 'dynamic-tool' ? String(p.toolName) : (p.type as string).slice(5);
        const toolCallId = String(p.toolCallId);
        parts.push({ type: 'tool-call', toolCallId, toolName, input: p.input ?? {} });
        if (p.state === 'output-available') results.push({ type: 'tool-result', toolCallId, toolName, output: p.output });
        else if (p.state === 'output-error') results.push({ type: 'tool-result', toolCallId, toolName, output: p.errorText, isError: true });
        // A call a person did not approve: the model is told again, as when it was denied.
        else if (p.state === 'output-denied') {
          const reason = (p.approval as { reason?: unknown } | undefined)?.reason;
          results.push({ type: 'tool-result', toolCallId, toolName, output: deniedOutput(toolName, typeof reason === 'string' ? reason : undefined), isError: true });
        }
      }
    }
    flush();
  }
  return out;
}

// ---------- POST /v1/ag-ui (RunAgentInput) --------------------------------------------------

const agUiToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** `POST /v1/ag-ui`: AG-UI's `RunAgentInput`. */
export const AgUiRunBody = z.looseObject({
  threadId: clientId('a thread id').min(1),
  runId: clientId('a run id').min(1),
  messages: z
    .array(
      z.looseObject({
        id: z.string().optional(),
        role: z.enum(['developer', 'system', 'user', 'assistant', 'tool', 'activity', 'reasoning']),
        content: z.unknown().optional(),
        toolCalls: z.array(agUiToolCall).optional(),
        toolCallId: z.string().optional(),
      }),
    )
    .max(MAX_MESSAGES),
  tools: z.array(z.looseObject({ name: z.string().min(1), description: z.string().optional(), parameters: z.unknown().optional() })).max(128).optional(),
  state: z.unknown().optional(),
  context: z.array(z.unknown()).optional(),
  forwardedProps: z.unknown().optional(),
  // AG-UI 1.0's answers to interrupts: `[{interruptId, status, payload: {approved, reason?}}]`.
  resume: z
    .unknown()
    .optional()
    .superRefine((resume, ctx) => {
      if (Array.isArray(resume)) resume.forEach((entry: unknown, i) => checkReason(isRecord(entry) ? entry['payload'] : undefined, ctx, [i, 'payload']));
    }),
});

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
      .join('');
  }
  return '';
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    // A client sent arguments that are not JSON; keep them as text rather than dropping them.
    return text;
  }
}

/** A message in the OpenAI-style function-calling shape that AG-UI and Chat Completions share. */
interface FunctionCallingMessage {
  role: 'developer' | 'system' | 'user' | 'assistant' | 'tool';
  content: unknown;
  toolCalls: { id: string; function: { name: string; arguments: string } }[] | undefined;
  toolCallId: string | undefined;
}

/** Turns function-calling messages into chat messages: tool calls with parsed input, tool results named after their call. */
function fromFunctionCallingMessages(messages: FunctionCallingMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      const toolCallId = message.toolCallId ?? '';
      out.push({ role: 'tool', content: [{ type: 'tool-result', toolCallId, toolName: names.get(toolCallId) ?? 'tool', output: textOf(message.content) }] });
      continue;
    }
    const role = message.role === 'developer' ? 'system' : message.role;
    const text = textOf(message.content);
    if (role === 'assistant' && message.toolCalls && message.toolCalls.length > 0) {
      const parts: MessagePart[] = text === '' ? [] : [{ type: 'text', text }];
      for (const call of message.toolCalls) {
        names.set(call.id, call.function.name);
        parts.push({ type: 'tool-call', toolCallId: call.id, toolName: call.function.name, input: parseArguments(call.function.arguments) });
      }
      out.push({ role, content: parts });
    } else {
      out.push({ role, content: text });
    }
  }
  return out;
}

/** Turns AG-UI messages into chat messages. */
export function fromAgUiMessages(messages: ZodInfer<typeof AgUiRunBody>['messages']): ChatMessage[] {
  return fromFunctionCallingMessages(
    messages.flatMap((m) =>
      m.role === 'activity' || m.role === 'reasoning' ? [] : [{ role: m.role, content: m.content, toolCalls: m.toolCalls, toolCallId: m.toolCallId }],
    ),
  );
}

/** Turns AG-UI tools (`parameters` is JSON Schema) into tool definitions. */
export function fromAgUiTools(tools: ZodInfer<typeof AgUiRunBody>['tools']): ToolDefinition[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  return tools.map((tool) => {
    const out: ToolDefinition = { name: tool.name, inputSchema: (tool.parameters as Record<string, unknown> | undefined) ?? { type: 'object', properties: {} } };
    if (tool.description !== undefined) out.description = tool.description;
    return out;
  });
}

// ---------- POST /v1/chat/completions (OpenAI) ----------------------------------------------

const openAiToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** `POST /v1/chat/completions`: OpenAI's Chat Completions body. */
export const OpenAiChatBody = z.looseObject({
  model: z.string().min(1),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
        content: z.unknown().optional(),
        tool_calls: z.array(openAiToolCall).optional(),
        tool_call_id: z.string().optional(),
      }),
    )
    .min(1, 'at least one message is needed')
    .max(MAX_MESSAGES),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z
    .array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1), description: z.string().optional(), parameters: z.unknown().optional() }) }))
    .max(128)
    .nullish(),
  tool_choice: z.unknown().optional(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
});

/** Turns OpenAI messages into chat messages. */
export function fromOpenAiMessages(messages: ZodInfer<typeof OpenAiChatBody>['messages']): ChatMessage[] {
  return fromFunctionCallingMessages(
    messages.flatMap((m) =>
      m.role === 'function' ? [] : [{ role: m.role, content: m.content, toolCalls: m.tool_calls, toolCallId: m.tool_call_id }],
    ),
  );
}

/** Turns OpenAI tools into tool definitions (forwarded to the provider; the gateway does not run them). */
export function fromOpenAiTools(tools: ZodInfer<typeof OpenAiChatBody>['tools']): ToolDefinition[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  return tools.map(({ function: fn }) => {
    const out: ToolDefinition = { name: fn.name, inputSchema: (fn.parameters as Record<string, unknown> | undefined) ?? { type: 'object', properties: {} } };
    if (fn.description !== undefined) out.description = fn.description;
    return out;
  });
}

/** OpenAI's `tool_choice` in the provider's terms. */
export function fromOpenAiToolChoice(choice: unknown): 'auto' | 'none' | 'required' | { toolName: string } | undefined {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  const name = (choice as { function?: { name?: unknown } } | null | undefined)?.function?.name;
  return typeof name === 'string' ? { toolName: name } : undefined;
}
