/**
 * The pending approvals of the memory store: one record per approval, answered once, with the
 * producers that wait on it. Kept beside the stream they belong to and dropped with it.
 *
 * @module
 */
import { StoreError } from './errors.ts';
import type { AnswerApprovalResult, ApprovalAnswer } from './types.ts';

interface Approval {
  answer: ApprovalAnswer | undefined;
  readonly waiters: Set<(answer: ApprovalAnswer) => void>;
}

/** The approvals of every stream of one memory store. */
export class MemoryApprovals {
  readonly #streams = new Map<string, Map<string, Approval>>();

  /** Opens a pending approval; opening one twice keeps the first. */
  open(streamId: string, approvalId: string): void {
    let approvals = this.#streams.get(streamId);
    if (approvals === undefined) this.#streams.set(streamId, (approvals = new Map()));
    if (!approvals.has(approvalId)) approvals.set(approvalId, { answer: undefined, waiters: new Set() });
  }

  /** Records the first answer and wakes its waiters. */
  answer(streamId: string, approvalId: string, answer: ApprovalAnswer): AnswerApprovalResult {
    const approval = this.#streams.get(streamId)?.get(approvalId);
    if (approval === undefined) return 'not_found';
    if (approval.answer !== undefined) return 'already_answered';
    // A copy: the caller's object is not the store's.
    approval.answer = answer.reason === undefined ? { approved: answer.approved } : { approved: answer.approved, reason: answer.reason };
    for (const waiter of [...approval.waiters]) waiter(approval.answer);
    approval.waiters.clear();
    return 'answered';
  }

  /** Resolves with the answer, now or when it comes; rejects on abort or for an approval never opened. */
  wait(streamId: string, approvalId: string, signal: AbortSignal | undefined): Promise<ApprovalAnswer> {
    const approval = this.#streams.get(streamId)?.get(approvalId);
    if (approval === undefined) return Promise.reject(new StoreError('not_found', `No approval ${JSON.stringify(approvalId)} in stream ${JSON.stringify(streamId)}.`));
    if (approval.answer !== undefined) return Promise.resolve(approval.answer);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        approval.waiters.delete(done);
        reject(signal?.reason);
      };
      const done = (answer: ApprovalAnswer): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      approval.waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Drops a stream's approvals (the stream expired or was evicted). */
  forget(streamId: string): void {
    this.#streams.delete(streamId);
  }
}
