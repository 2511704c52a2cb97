/**
 * The protocol layer: the AgentEvent union and its wire codecs.
 *
 * @module
 */
export { AGENT_EVENT_TYPES, TERMINAL_EVENT_TYPES, isTerminalEvent } from './types.ts';
export type * from './types.ts';
