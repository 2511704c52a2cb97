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
   * Whether the model's call waits for a person's approval before `execute` runs: always, or
   * when the function says so for the call's input.
   */
  needsApproval?: boolean | ((input: Input) => boolean);
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
