/**
 * The provider contract: a chat request in, an async iterable of AgentEvents out.
 *
 * @module
 */
import type { AgentEvent } from '../protocol/types.ts';

/** A JSON Schema object describing a tool's input. */
export type JsonSchema = Record<string, unknown>;

/** A tool the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the input. */
  inputSchema: JsonSchema;
}

/** A part of a message's content besides plain text. */
export type MessagePart =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string; signature?: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown }
  | { type: 'tool-result'; toolCallId: string; toolName: string; output: unknown; isError?: boolean };

/** One message of a conversation. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** Plain text, or parts (assistant tool calls, tool results). */
  content: string | MessagePart[];
}

/** What every provider receives. */
export interface ChatRequest {
  messages: ChatMessage[];
  /** The model id within the provider (`gpt-4o-mini`, `claude-haiku-4-5`, …). */
  model: string;
  tools?: ToolDefinition[];
  /** `auto` (default), `none`, `required`, or one tool by name. */
  toolChoice?: 'auto' | 'none' | 'required' | { toolName: string };
  maxOutputTokens?: number;
  temperature?: number;
  /** Provider-specific settings, passed through (e.g. `{ anthropic: { thinking: {...} } }`). */
  providerOptions?: Record<string, Record<string, unknown>>;
  /**
   * The assistant's unfinished output of this step, written by a producer that died (a takeover):
   * the provider continues it rather than starting the step over, each as well as its API allows
   * (the local model from the exact offset, Anthropic by prefill, OpenAI by giving the text back and
   * asking to continue; see docs/takeover.md). The events then carry only the continuation.
   */
  continuation?: { text: string; reasoning?: string };
}

/** Per-call options. */
export interface ProviderCallOptions {
  /** Aborts the upstream HTTP request. */
  signal?: AbortSignal;
}

/**
 * A provider: a function from a request to a stream of agent events. The stream ends with
 * `finish` or `error`; it throws only before the first event (the server turns that into a status).
 */
export type Provider = (request: ChatRequest, options?: ProviderCallOptions) => AsyncIterable<AgentEvent>;
