/**
 * When a response of a protocol whose client answers approvals with a new request (the AI SDK's
 * `POST /api/chat`, AG-UI's `resume`) should end: once the step's tool calls are each settled or
 * waiting for a decision, and at least one waits. The run itself goes on waiting in the store.
 *
 * @module
 */
import type { AgentEvent, ApprovalRequestEvent } from './types.ts';

/** Follows a stream's events and says when its client has to answer before anything more comes. */
export interface ApprovalPause {
  /**
   * Adds the next event.
   * @returns true when, after this event, the run waits for approvals the client must answer
   */
  add(event: AgentEvent): boolean;
  /** The approval requests not answered yet, in the order they came. */
  readonly pending: readonly ApprovalRequestEvent[];
}

/**
 * Creates an {@link ApprovalPause}.
 * @param options - `answered`: approval ids this client has just answered (their requests do not
 *   count as pending); `clientTools`: tools the client runs itself (their calls stay open in the run)
 * @returns a fresh tracker for one response
 */
export function createApprovalPause(options: { answered?: ReadonlySet<string>; clientTools?: ReadonlySet<string> } = {}): ApprovalPause {
  /** Tool calls of the current step that have not settled (no result, error or denial yet). */
  const open = new Set<string>();
  const pending = new Map<string, ApprovalRequestEvent>();
  const waiting = (): boolean => {
    if (pending.size === 0) return false;
    const awaited = new Set([...pending.values()].map((request) => request.toolCallId));
    for (const toolCallId of open) if (!awaited.has(toolCallId)) return false;
    return true;
  };
  return {
    add(event) {
      switch (event.type) {
        case 'step-start':
          open.clear();
          return false;
        case 'tool-call':
          // A client tool's call is the client's to answer after the run: nothing here waits for it.
          if (options.clientTools?.has(event.toolName) !== true) open.add(event.toolCallId);
          return false;
        case 'tool-result':
        case 'tool-error':
        case 'tool-output-denied':
          open.delete(event.toolCallId);
          return waiting();
        case 'approval-request':
          if (options.answered?.has(event.approvalId) === true) return false;
          pending.set(event.approvalId, event);
          return waiting();
        case 'approval-response':
          pending.delete(event.approvalId);
          return false;
        default:
          // Progress, sources and data of tools still running say nothing new.
          return false;
      }
    },
    get pending() {
      return [...pending.values()];
    },
  };
}
