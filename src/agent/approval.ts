/**
 * Tool approval in the agent loop: whether a call needs a person's decision, asking for it through
 * the run's {@link ApprovalGate}, and what the model is told when a call is denied.
 *
 * @module
 */
import type { AgentEvent, ToolCallEvent } from '../protocol/types.ts';
import type { AnyAgentTool, ApprovalDecision, ApprovalGate, ApprovalRequest, DecidedApproval } from './types.ts';

/** The reason of a call denied because the run has nobody to ask (no `approvals` gate). */
export const NO_APPROVER_REASON = 'no_approver';

/** The start of what the model receives as the result of a denied call (the local model recognises it). */
export const DENIED_OUTPUT_PREFIX = 'Denied:';

/**
 * What the model receives as the result of a denied call, so it can answer accordingly.
 * @param toolName - the tool
 * @param reason - the decider's reason, if any
 * @returns the text of the tool result
 */
export function deniedOutput(toolName: string, reason: string | undefined): string {
  const why = reason === undefined || reason === '' ? '' : ` (reason: ${reason})`;
  return `${DENIED_OUTPUT_PREFIX} the call of \`${toolName}\` was not approved${why}, so it did not run and nothing was done. Tell the user; do not claim it ran.`;
}

/** A fresh approval id: random and unguessable (Web Crypto, on every runtime). */
export function newApprovalId(): string {
  return `approval-${crypto.randomUUID()}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Options of {@link decideApproval}. */
export interface DecideApprovalOptions {
  gate: ApprovalGate | undefined;
  /** A decision the client already sent (answered in its next request). */
  decided: DecidedApproval | undefined;
  signal: AbortSignal;
  emit(event: AgentEvent): void;
}

/**
 * Asks for approval of a call when its tool needs it: `approval-request`, the wait, then
 * `approval-response`. A call whose input is invalid is not asked about (running it fails
 * with a `tool-error` anyway).
 * @param tool - the tool the call names
 * @param call - the call
 * @param options - the gate, a decision already taken, the run's signal, where events go
 * @returns the decision, or undefined when the call needs none
 * @throws the signal's reason when the run is stopped while it waits
 */
export async function decideApproval(tool: AnyAgentTool, call: ToolCallEvent, options: DecideApprovalOptions): Promise<ApprovalDecision | undefined> {
  const { needsApproval } = tool;
  if (needsApproval === undefined || needsApproval === false) return undefined;
  let input: unknown;
  try {
    input = tool.parseInput(call.input);
  } catch {
    return undefined;
  }
  if (typeof needsApproval === 'function') {
    let needed: boolean;
    try {
      needed = await needsApproval(input);
    } catch (error) {
      // Unsure is no: a failing check never lets the call through.
      return { approved: false, reason: `needsApproval failed: ${errorMessage(error)}` };
    }
    if (!needed) return undefined;
  }
  if (options.decided !== undefined) {
    const { approved, reason } = options.decided;
    const decision: ApprovalDecision = reason === undefined ? { approved } : { approved, reason };
    options.emit({ type: 'approval-response', approvalId: options.decided.approvalId ?? newApprovalId(), ...decision });
    return decision;
  }
  if (options.gate === undefined) return { approved: false, reason: NO_APPROVER_REASON };
  const request: ApprovalRequest = { approvalId: newApprovalId(), toolCallId: call.toolCallId, toolName: call.toolName, input };
  await options.gate.open(request);
  options.emit({ type: 'approval-request', ...request });
  const answer = await options.gate.wait(request, options.signal);
  const decision: ApprovalDecision = answer.reason === undefined ? { approved: answer.approved === true } : { approved: answer.approved === true, reason: answer.reason };
  options.emit({ type: 'approval-response', approvalId: request.approvalId, ...decision });
  return decision;
}
