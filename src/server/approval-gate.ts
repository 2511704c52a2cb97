/**
 * The server's approval gate: a run's pending approvals live in the stream store, so any instance
 * can answer them (`POST /v1/streams/:id/approvals/:approvalId`, the AI SDK's next `POST /api/chat`,
 * AG-UI's `resume`), and the producing instance hears the answer wherever it was given.
 *
 * @module
 */
import type { ApprovalDecision, ApprovalGate, ApprovalRequest } from '../agent/types.ts';
import type { StreamStore } from '../store/types.ts';

/** The environment variable of the approval timeout. */
export const APPROVAL_TIMEOUT_ENV = 'SLUICE_APPROVAL_TIMEOUT_MS';
/** How long a run waits for a decision by default: 10 minutes. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 600_000;
/** The reason recorded for an approval whose run was stopped while it waited. */
export const STOPPED_REASON = 'stopped';
/** The reason of a decision nobody gave in time. */
export const APPROVAL_TIMEOUT_REASON = 'timeout';

/** Options of {@link createStoreApprovalGate}. */
export interface StoreApprovalGateOptions {
  store: StreamStore;
  /** The run's stream id. */
  streamId: string;
  /** Counts the run as followed until the returned function is called (the run manager's `attach`). */
  attach: () => () => void;
  /** After this long without an answer the call is denied with reason `timeout`. */
  timeoutMs: number;
}

/** A gate of one run; `close()` when the run is over. */
export interface StoreApprovalGate extends ApprovalGate {
  /** Lets go of the run's hold on the detach grace. */
  close(): void;
}

/**
 * Creates the approval gate of one run.
 *
 * Detach grace: from its first approval request until it ends, the run counts as followed (it
 * holds an attachment in the store). A person may take minutes to decide, from another device or
 * after closing the tab, and once they said yes they expect the work to be done, not dropped
 * because nobody was watching; an unanswered request still ends at the approval timeout.
 * @param options - the store, the run's stream id, the timeout
 * @returns the gate
 */
export function createStoreApprovalGate(options: StoreApprovalGateOptions): StoreApprovalGate {
  const { store, timeoutMs, streamId: id } = options;
  let release: (() => void) | undefined;
  let closed = false;
  return {
    async open(request: ApprovalRequest): Promise<void> {
      await store.openApproval(id, request.approvalId);
      if (release === undefined && !closed) release = options.attach();
    },

    async wait(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalDecision> {
      const local = new AbortController();
      const timer = setTimeout(() => {
        // The timeout is an answer like any other: the first answer wins, here or on another instance.
        store.answerApproval(id, request.approvalId, { approved: false, reason: APPROVAL_TIMEOUT_REASON }).catch(() => {
          // The store is unreachable: nobody can answer anyway, so the call is denied here.
          local.abort();
        });
      }, timeoutMs);
      try {
        return await Promise.race([
          store.waitApproval(id, request.approvalId, { signal: AbortSignal.any([signal, local.signal]) }),
          new Promise<never>((_resolve, reject) => local.signal.addEventListener('abort', () => reject(local.signal.reason), { once: true })),
        ]);
      } catch (error) {
        if (local.signal.aborted && !signal.aborted) return { approved: false, reason: APPROVAL_TIMEOUT_REASON };
        // The run was stopped while it waited: the approval is closed, so a late answer gets 409.
        if (signal.aborted) store.answerApproval(id, request.approvalId, { approved: false, reason: STOPPED_REASON }).catch(() => undefined);
        throw error;
      } finally {
        clearTimeout(timer);
        local.abort();
      }
    },

    close() {
      closed = true;
      release?.();
      release = undefined;
    },
  };
}
