/**
 * The contract types of the agent layer: tools that stream, and the options of an agent run.
 *
 * @module
 */
import type { JsonSchema } from '../providers/types.ts';

/** Progress of a tool's work: `done` never goes back and ends at `total`. */
export interface ToolProgress {
  type: 'progress';
  done: number;
  total: number;
  message?: string;
}

/** A source a tool found (a RAG hit): a document, page or URL. */
export interface ToolSource {
  type: 'source';
  id: string;
  title: string;
  url?: string;
  snippet?: string;
  score?: number;
}

/** Intermediate data of any JSON shape, named. */
export interface ToolData {
  type: 'data';
  name: string;
  value: unknown;
}

/** What a tool may yield before it returns its result; the loop fills in the `toolCallId`. */
export type ToolUpdate = ToolProgress | ToolSource | ToolData;

/** What a tool's `execute` receives besides its input. */
export interface ToolContext {
  /** The id of the model's call, as in the `tool-call` event. */
  toolCallId: string;
  /** Aborts when the request is stopped or the tool's timeout runs out; pass it to whatever the tool waits on. */
  signal: AbortSignal;
  /** Who the run belongs to (the server passes its API key's owner id; undefined when auth is off). */
  owner?: string;
  /**
   * Whom the server's quotas count the run's request against: `key:<owner>` with an API key, else
   * the client's address (`ip:<address>`, an IPv6 client's /64; a trusted proxy's `X-Forwarded-For`
   * believed). `publish_event` counts its publishes there, like `POST /v1/events`. Undefined outside the server.
   */
  subject?: string;
}

/**
 * What `execute` may be: a plain or async function returning the result, or an async generator
 * that yields {@link ToolUpdate}s as it works and returns the result.
 */
export type ToolExecuteResult<Output> = Output | Promise<Output> | AsyncGenerator<ToolUpdate, Output, undefined>;

/** A tool the agent runs itself. */
export interface AgentTool<Input = unknown, Output = unknown> {
  /** The name the model calls it by. */
  name: string;
  /** What it does, for the model. */
  description: string;
  /** JSON Schema of the input, for the model. */
  inputSchema: JsonSchema;
  /**
   * Validates the model's input before `execute` runs; a throw becomes a `tool-error` the model sees.
   * @param input - the parsed JSON the model sent
   * @returns the typed input
   */
  parseInput(input: unknown): Input;
  /**
   * Whether running it twice with the same input does no harm (it only reads, or computes): when
   * the instance running it dies mid-way, the instance that takes the run over runs it again. A
   * tool that is not (it sends, writes, charges) ends as `tool-error` "interrupted" instead, and the
   * model goes on without its result. @defaultValue false
   */
  idempotent?: boolean;
  /**
   * Whether a person must approve a call before it runs: `true`, or a function of the validated
   * input. The run then sends `approval-request` and waits for the decision (see {@link ApprovalGate});
   * a denied call does not run, and the model is told it was denied.
   * @defaultValue false
   */
  needsApproval?: boolean | ((input: Input) => boolean | Promise<boolean>);
  /**
   * Runs the tool.
   * @param input - the validated input
   * @param context - the call's id and signal
   */
  execute(input: Input, context: ToolContext): ToolExecuteResult<Output>;
}

/** Any tool, whatever its input and output types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAgentTool = AgentTool<any, any>;

/** A tool call waiting for a person's decision (the `approval-request` event without its type). */
export interface ApprovalRequest {
  approvalId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
}

/** A decision on an {@link ApprovalRequest}. */
export interface ApprovalDecision {
  approved: boolean;
  reason?: string;
}

/**
 * Where the agent loop asks for approvals. The server's gate keeps them in the stream store (any
 * instance can answer, and a timeout denies); `sluice chat` asks on the terminal.
 */
export interface ApprovalGate {
  /**
   * Makes the request answerable; called before its `approval-request` event is sent, so no
   * answer can come before the request is known.
   */
  open(request: ApprovalRequest): Promise<void>;
  /**
   * Waits for the decision.
   * @param request - the request, as given to `open`
   * @param signal - the run's signal: rejects with its reason when it aborts
   */
  wait(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalDecision>;
}

/** A decision already taken on a call of the conversation's last assistant message (a client that answers with its next request). */
export interface DecidedApproval extends ApprovalDecision {
  toolCallId: string;
  /** The id of the request being answered, when the client knows it. */
  approvalId?: string;
  /**
   * The call as its `approval-request` logged it (the server passes it): the call runs with this
   * tool name and input, whatever the conversation's copy of the call says. A decision without it
   * runs the conversation's call as it is (the caller vouches for the messages).
   */
  call?: { toolName: string; input: unknown };
}
