/**
 * The errors of the agent layer and their codes, each with the HTTP status the server answers
 * when the error happens before the first event.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';

/** Every agent error code with its HTTP status. */
export const AGENT_ERROR_CODES = {
  /** A model's stream ended without `finish` or `error`. */
  agent_step_incomplete: 502,
  /** The calculator could not parse or compute an expression. */
  expression_invalid: 400,
  /** A built-in tool was asked for a dataset it does not have. */
  dataset_unknown: 404,
  /** A step failed with an error that carried no code of its own. */
  internal_error: 500,
} as const;

/** An agent error code. */
export type AgentErrorCode = keyof typeof AGENT_ERROR_CODES;

/** An agent run failed outside the model and the tools. */
export class AgentError extends SluiceError {
  override name = 'AgentError' as const;
  declare readonly code: AgentErrorCode;

  /**
   * @param code - a code from {@link AGENT_ERROR_CODES}; it sets the HTTP `status`
   * @param message - what failed; safe to show to clients
   * @param options - the original error
   */
  constructor(code: AgentErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { status: AGENT_ERROR_CODES[code], cause: options.cause });
  }
}
