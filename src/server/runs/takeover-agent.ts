/**
 * The request of an agent run as it is kept with its log, and the takeover `resume` of the chat
 * routes: the model and tools of this instance, the agent loop continued from the state its log
 * describes (`resumeAgent`).
 *
 * @module
 */
import { rebuildAgentState, resumeAgent } from '../../agent/run-agent.ts';
import type { AnyAgentTool } from '../../agent/types.ts';
import type { AgentEvent } from '../../protocol/types.ts';
import type { ChatMessage, ChatRequest, ToolDefinition } from '../../providers/types.ts';
import type { ModelRegistry } from '../models.ts';
import type { TakeoverOptions } from './takeover.ts';

/** An agent run's request as stored (no keys, no secrets: the model is named, the server's tools by name). */
export interface StoredAgentRequest {
  kind: 'agent';
  /** The model as the request named it (undefined: the instance's default). */
  model?: string;
  messages: ChatMessage[];
  /** The names of the server's tools offered (the instance taking over offers its own). */
  tools: string[];
  /** The client's tools (definitions from the request). */
  clientTools?: ToolDefinition[];
  toolChoice?: ChatRequest['toolChoice'];
  maxOutputTokens?: number;
  temperature?: number;
}

/**
 * The stored form of an agent run's request.
 * @param model - the model the request named
 * @param request - the request, as given to the agent
 * @param tools - the server's tools offered
 */
export function storedAgentRequest(model: string | undefined, request: Omit<ChatRequest, 'model'>, tools: readonly AnyAgentTool[]): StoredAgentRequest {
  const stored: StoredAgentRequest = { kind: 'agent', messages: request.messages, tools: tools.map((tool) => tool.name) };
  if (model !== undefined) stored.model = model;
  if (request.tools !== undefined) stored.clientTools = request.tools;
  if (request.toolChoice !== undefined) stored.toolChoice = request.toolChoice;
  if (request.maxOutputTokens !== undefined) stored.maxOutputTokens = request.maxOutputTokens;
  if (request.temperature !== undefined) stored.temperature = request.temperature;
  return stored;
}

function isStoredAgentRequest(value: unknown): value is StoredAgentRequest {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'agent' && Array.isArray((value as { messages?: unknown }).messages);
}

/**
 * The `resume` of agent runs: resolves the stored model here (a model this instance cannot serve
 * throws, and the run ends `producer_lost`), offers the tools the run was offered (by name, those
 * this instance has), rebuilds the run's state from its log and continues it.
 * @param models - this instance's models
 * @param tools - this instance's tools
 */
export function agentResume(models: ModelRegistry, tools: readonly AnyAgentTool[]): TakeoverOptions['resume'] {
  return (request: unknown, events: readonly AgentEvent[]) => {
    if (!isStoredAgentRequest(request)) throw new TypeError('The stored request is not an agent run this instance can continue.');
    const resolved = models.resolve(request.model);
    const state = rebuildAgentState(request.messages, events);
    const offered = tools.filter((tool) => request.tools.includes(tool.name));
    return (signal) =>
      resumeAgent({
        provider: resolved.provider,
        model: resolved.modelId,
        messages: state.messages,
        state,
        tools: offered,
        ...(request.clientTools ? { clientTools: request.clientTools } : {}),
        ...(request.toolChoice === undefined ? {} : { toolChoice: request.toolChoice }),
        ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        signal,
      });
  };
}
