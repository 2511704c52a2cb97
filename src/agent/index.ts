/**
 * The agent layer: the loop that runs tools while the model talks, and the built-in tools.
 *
 * @module
 */
export { runAgent, DEFAULT_MAX_STEPS, DEFAULT_TOOL_TIMEOUT_MS, MAX_STEPS_ENV } from './run-agent.ts';
export type { RunAgentOptions } from './run-agent.ts';
export { tool } from './tool.ts';
export type { ToolOptions } from './tool.ts';
export { AGENT_ERROR_CODES, AgentError } from './errors.ts';
export type { AgentErrorCode } from './errors.ts';
export type * from './types.ts';
