/**
 * The AgentEvent union: the one shape every provider emits and every codec reads.
 * Wire names are fixed by DESIGN.md; each event is a JSON object whose `type` is its name.
 *
 * @module
 */

/** Why a generation ended, in the AI SDK's vocabulary. */
export type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

/** Token counts; a count the provider did not report is `null`. */
export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  reasoningTokens: number | null;
  cachedInputTokens: number | null;
}

/** A new assistant message begins. */
export interface MessageStartEvent {
  type: 'message-start';
  messageId: string;
  /** The model that answers, as named to sluice (`local`, `openai:gpt-4o-mini`, …). */
  model?: string;
}
/** A text part begins; `refusal` marks an OpenAI refusal streamed instead of content. */
export interface TextStartEvent {
  type: 'text-start';
  id: string;
  refusal?: boolean;
}
/** New text of a text part (only the new fragment). */
export interface TextDeltaEvent {
  type: 'text-delta';
  id: string;
  delta: string;
}
export interface TextEndEvent {
  type: 'text-end';
  id: string;
}
/** The model's visible thinking begins. */
export interface ReasoningStartEvent {
  type: 'reasoning-start';
  id: string;
}
export interface ReasoningDeltaEvent {
  type: 'reasoning-delta';
  id: string;
  delta: string;
}
/** The thinking ends; `signature` is Anthropic's thinking signature, needed to send it back. */
export interface ReasoningEndEvent {
  type: 'reasoning-end';
  id: string;
  signature?: string;
}
/** A tool call begins; its input follows as `tool-call-delta` fragments. */
export interface ToolCallStartEvent {
  type: 'tool-call-start';
  toolCallId: string;
  toolName: string;
}
/** A fragment of a tool call's input JSON text (only the new fragment). */
export interface ToolCallDeltaEvent {
  type: 'tool-call-delta';
  toolCallId: string;
  delta: string;
}
/** A tool call is complete, with its parsed input. */
export interface ToolCallEvent {
  type: 'tool-call';
  toolCallId: string;
  toolName: string;
  input: unknown;
}
/** A tool's result. */
export interface ToolResultEvent {
  type: 'tool-result';
  toolCallId: string;
  toolName: string;
  output: unknown;
}
/** A tool failed. */
export interface ToolErrorEvent {
  type: 'tool-error';
  toolCallId: string;
  toolName: string;
  message: string;
}
/** A source found (RAG): a document, page or URL the answer draws on. */
export interface SourceEvent {
  type: 'source';
  /** The tool call that found it, when a tool did. */
  toolCallId?: string;
  id: string;
  title?: string;
  url?: string;
  snippet?: string;
  score?: number;
}
/** Progress of a long task: `done` never goes back and ends at `total`. */
export interface ProgressEvent {
  type: 'progress';
  /** The tool call it reports on, when a tool does. */
  toolCallId?: string;
  done: number;
  total: number;
  message?: string;
}
/** Intermediate data of any shape, named (a tool's intermediate statistics, a finished section). */
export interface DataEvent {
  type: 'data';
  /** The tool call that produced it, when a tool did. */
  toolCallId?: string;
  name: string;
  value: unknown;
}
/**
 * A tool call waits for a person's decision before it runs (`tool({ needsApproval })`). Answer it
 * with `POST /v1/streams/:id/approvals/:approvalId`, on any instance.
 */
export interface ApprovalRequestEvent {
  type: 'approval-request';
  /** Names the decision; random, unguessable. */
  approvalId: string;
  toolCallId: string;
  toolName: string;
  /** The call's validated input, for the person deciding. */
  input: unknown;
}
/** The decision on an approval request: a person's answer, or `approved: false` with reason `timeout`. */
export interface ApprovalResponseEvent {
  type: 'approval-response';
  approvalId: string;
  approved: boolean;
  reason?: string;
}
/** A tool call that was denied: the tool did not run, and the model is told so. */
export interface ToolOutputDeniedEvent {
  type: 'tool-output-denied';
  toolCallId: string;
  toolName: string;
  reason?: string;
}
/** One step of an agent run (one model call) begins. */
export interface StepStartEvent {
  type: 'step-start';
  step: number;
  /**
   * True on the one `step-start` that marks where another instance took the run over from the log
   * (its producer died or drained): what follows continues the same stream and step.
   */
  takeover?: boolean;
}
export interface StepFinishEvent {
  type: 'step-finish';
  step: number;
  finishReason: FinishReason;
}
/** Token usage, as soon as the provider reports it. */
export interface UsageEvent extends Usage {
  type: 'usage';
}
/** The stream ends normally. `rawFinishReason` is the provider's own value (`end_turn`, `tool_calls`, …). */
export interface FinishEvent {
  type: 'finish';
  finishReason: FinishReason;
  rawFinishReason?: string | null;
  usage?: Usage;
}
/**
 * The stream ends with an error. `code` is stable (see the provider error codes), `message` is safe
 * to show, `retryable` says whether sending the same request again may succeed.
 */
export interface ErrorEvent {
  type: 'error';
  code: string;
  message: string;
  retryable: boolean;
  /** The HTTP status of the upstream failure, when there was one (200 for errors inside a stream). */
  status?: number;
  /** The provider's own error type and code (`overloaded_error`, `rate_limit_exceeded`, …). */
  providerType?: string | null;
  providerCode?: string | null;
}
/** The stream was stopped (the stop button, `DELETE /v1/streams/:id`, a detached client's grace ran out). */
export interface AbortEvent {
  type: 'abort';
  reason?: string;
}

/** Every event of an agent stream. */
export type AgentEvent =
  | MessageStartEvent
  | TextStartEvent
  | TextDeltaEvent
  | TextEndEvent
  | ReasoningStartEvent
  | ReasoningDeltaEvent
  | ReasoningEndEvent
  | ToolCallStartEvent
  | ToolCallDeltaEvent
  | ToolCallEvent
  | ToolResultEvent
  | ToolErrorEvent
  | SourceEvent
  | ProgressEvent
  | DataEvent
  | ApprovalRequestEvent
  | ApprovalResponseEvent
  | ToolOutputDeniedEvent
  | StepStartEvent
  | StepFinishEvent
  | UsageEvent
  | FinishEvent
  | ErrorEvent
  | AbortEvent;

/** The wire name of every event. */
export type AgentEventType = AgentEvent['type'];

/** The event with a given wire name. */
export type AgentEventOf<K extends AgentEventType> = Extract<AgentEvent, { type: K }>;

/** Every wire name, in DESIGN.md's order. */
export const AGENT_EVENT_TYPES = [
  'message-start',
  'text-start',
  'text-delta',
  'text-end',
  'reasoning-start',
  'reasoning-delta',
  'reasoning-end',
  'tool-call-start',
  'tool-call-delta',
  'tool-call',
  'tool-result',
  'tool-error',
  'source',
  'progress',
  'data',
  'approval-request',
  'approval-response',
  'tool-output-denied',
  'step-start',
  'step-finish',
  'usage',
  'finish',
  'error',
  'abort',
] as const satisfies readonly AgentEventType[];

/** The events that end a stream. */
export const TERMINAL_EVENT_TYPES = ['finish', 'error', 'abort'] as const satisfies readonly AgentEventType[];

/** Whether `event` ends its stream (`finish`, `error` or `abort`). */
export function isTerminalEvent(event: AgentEvent): event is FinishEvent | ErrorEvent | AbortEvent {
  return event.type === 'finish' || event.type === 'error' || event.type === 'abort';
}
