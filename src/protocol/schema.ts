/**
 * Runtime schemas of the AgentEvent union, for events that come from outside (a resumed stream,
 * a remote agent, a stored log). `types.ts` stays the source of the TypeScript types; the check at
 * the bottom of this file fails to compile when the two disagree.
 *
 * @module
 */
import type { output as ZodOutput } from 'zod';
import { importOptional } from '../core/require-optional.ts';
import { SluiceError } from '../core/errors.ts';
import type { AgentEvent, AgentEventType, FinishReason, Usage } from './types.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** The schema of a {@link FinishReason}. */
export const finishReasonSchema = z.enum(['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other']);

const tokenCount = z.number().int().nonnegative().nullable();

/** The schema of {@link Usage}. */
export const usageSchema = z.object({
  inputTokens: tokenCount,
  outputTokens: tokenCount,
  totalTokens: tokenCount,
  reasoningTokens: tokenCount,
  cachedInputTokens: tokenCount,
});

const id = z.string();

/** The schema of every {@link AgentEvent}, a discriminated union on `type`. Unknown keys are stripped. */
export const agentEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message-start'), messageId: id, model: z.string().optional() }),
  z.object({ type: z.literal('text-start'), id, refusal: z.boolean().optional() }),
  z.object({ type: z.literal('text-delta'), id, delta: z.string() }),
  z.object({ type: z.literal('text-end'), id }),
  z.object({ type: z.literal('reasoning-start'), id }),
  z.object({ type: z.literal('reasoning-delta'), id, delta: z.string() }),
  z.object({ type: z.literal('reasoning-end'), id, signature: z.string().optional() }),
  z.object({ type: z.literal('tool-call-start'), toolCallId: id, toolName: z.string() }),
  z.object({ type: z.literal('tool-call-delta'), toolCallId: id, delta: z.string() }),
  z.object({ type: z.literal('tool-call'), toolCallId: id, toolName: z.string(), input: z.unknown() }),
  z.object({ type: z.literal('tool-result'), toolCallId: id, toolName: z.string(), output: z.unknown() }),
  z.object({ type: z.literal('tool-error'), toolCallId: id, toolName: z.string(), message: z.string() }),
  z.object({
    type: z.literal('source'),
    toolCallId: id.optional(),
    id,
    title: z.string().optional(),
    url: z.string().optional(),
    snippet: z.string().optional(),
    score: z.number().optional(),
  }),
  z.object({
    type: z.literal('progress'),
    toolCallId: id.optional(),
    done: z.number().nonnegative(),
    total: z.number().nonnegative(),
    message: z.string().optional(),
  }),
  z.object({ type: z.literal('data'), toolCallId: id.optional(), name: z.string(), value: z.unknown() }),
  z.object({ type: z.literal('approval-request'), approvalId: id, toolCallId: id, toolName: z.string(), input: z.unknown() }),
  z.object({ type: z.literal('approval-response'), approvalId: id, approved: z.boolean(), reason: z.string().optional() }),
  z.object({ type: z.literal('tool-output-denied'), toolCallId: id, toolName: z.string(), reason: z.string().optional() }),
  z.object({ type: z.literal('step-start'), step: z.number().int().nonnegative(), takeover: z.boolean().optional() }),
  z.object({ type: z.literal('step-finish'), step: z.number().int().nonnegative(), finishReason: finishReasonSchema }),
  usageSchema.extend({ type: z.literal('usage') }),
  z.object({
    type: z.literal('finish'),
    finishReason: finishReasonSchema,
    rawFinishReason: z.string().nullable().optional(),
    usage: usageSchema.optional(),
  }),
  z.object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    retryable: z.boolean(),
    status: z.number().int().optional(),
    providerType: z.string().nullable().optional(),
    providerCode: z.string().nullable().optional(),
  }),
  z.object({ type: z.literal('abort'), reason: z.string().optional() }),
]);

/** Thrown by {@link parseAgentEvent} when a value is not an AgentEvent. */
export class AgentEventParseError extends SluiceError {
  override name = 'AgentEventParseError';
  /** The path of the first field at fault (`["delta"]`), empty when the value itself is wrong. */
  readonly path: readonly PropertyKey[];
  constructor(message: string, path: readonly PropertyKey[], cause: unknown) {
    super('invalid_agent_event', message, { status: 400, cause });
    this.path = path;
  }
}

/**
 * Checks that a value from outside is an AgentEvent.
 * @param value - anything, typically `JSON.parse` of an event's data
 * @returns the event, with unknown keys stripped
 * @throws AgentEventParseError naming the first field at fault
 * @example
 * ```ts
 * const event = parseAgentEvent(JSON.parse(message.data))
 * ```
 */
export function parseAgentEvent(value: unknown): AgentEvent {
  const result = agentEventSchema.safeParse(value);
  if (result.success) return result.data as AgentEvent;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  const where = path.length === 0 ? 'the event' : `\`${path.map(String).join('.')}\``;
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  throw new AgentEventParseError(
    `Invalid agent event${typeof type === 'string' ? ` of type "${type}"` : ''}: ${where}: ${issue?.message ?? 'invalid'}.`,
    path,
    result.error,
  );
}

// Compile-time agreement of schema and types, both ways, per event type. With
// exactOptionalPropertyTypes, zod's `?: T | undefined` is wider than ours, so the check strips `undefined`.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type DropUndefined<T> = { [K in keyof T]: Exclude<T[K], undefined> };
type SchemaEvent = ZodOutput<typeof agentEventSchema>;
type Agreement = {
  [K in AgentEventType]: Exact<DropUndefined<Extract<SchemaEvent, { type: K }>>, DropUndefined<Extract<AgentEvent, { type: K }>>>;
};
type AllAgree = false extends Agreement[AgentEventType] ? false : true;
const schemaMatchesTypes: AllAgree = true;
const usageMatches: Exact<ZodOutput<typeof usageSchema>, Usage> = true;
const finishReasonMatches: Exact<ZodOutput<typeof finishReasonSchema>, FinishReason> = true;
void [schemaMatchesTypes, usageMatches, finishReasonMatches];
