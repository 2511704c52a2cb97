/**
 * The providers layer: OpenAI, Anthropic, OpenAI-compatible and the local demo model, each a
 * function from a chat request to a stream of AgentEvents.
 *
 * @module
 */
export type * from './types.ts';
