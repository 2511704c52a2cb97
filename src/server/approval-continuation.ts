/**
 * Approvals answered the way a protocol's own client answers them, with its next request (the AI
 * SDK's `POST /api/chat` carrying `approval-responded` parts, AG-UI's `resume`): the answers go to
 * the store, and the new response follows the same stream from the request it answers, ending
 * again wherever the run waits for the client.
 *
 * @module
 */
import type { ApprovalGate } from '../agent/types.ts';
import type { DecidedApproval } from '../agent/types.ts';
import { createApprovalPause } from '../protocol/approval-pause.ts';
import type { StoredEvent, StreamStore } from '../store/types.ts';
import { createStoreApprovalGate } from './approval-gate.ts';
import type { Streams } from './runs/stream-context.ts';

/** A decision a client sent, with the approval it answers. */
export type ClientApproval = DecidedApproval & { approvalId: string };

/**
 * The approval gate of a run about to start with stream id `id`, and `bind(run)` to call once it
 * has started (its hold on the detach grace ends with it).
 * @param streams - the instance's streams (store and run manager)
 * @param id - the run's stream id, chosen before it starts
 * @param timeoutMs - how long a call waits for a decision
 */
export function approvalsForRun(streams: Pick<Streams, 'store' | 'runs'>, id: string, timeoutMs: number): { gate: ApprovalGate; bind(run: { done: Promise<void> }): void } {
  const gate = createStoreApprovalGate({ store: streams.store, streamId: id, attach: () => streams.runs.attach(id), timeoutMs });
  return {
    gate,
    bind(run) {
      void run.done.finally(() => gate.close());
    },
  };
}

/**
 * Answers a client's approvals in stream `streamId` and finds where its continuation starts.
 * @returns `after` (follow from after the last answered request) and the answered ids, or
 *   undefined when the stream has none of these approvals (it expired: the caller goes on from
 *   the messages instead)
 */
export async function answerClientApprovals(store: StreamStore, streamId: string, approvals: readonly ClientApproval[]): Promise<{ after: number; answered: Set<string> } | undefined> {
  const answered = new Set<string>();
  for (const approval of approvals) {
    const answer = approval.reason === undefined ? { approved: approval.approved } : { approved: approval.approved, reason: approval.reason };
    // `already_answered`: another tab, the REST route or the timeout was first; the log says what happened.
    if ((await store.answerApproval(streamId, approval.approvalId, answer)) !== 'not_found') answered.add(approval.approvalId);
  }
  if (answered.size === 0) return undefined;
  const info = await store.info(streamId);
  if (info === undefined) return undefined;
  let after = 0;
  const controller = new AbortController();
  try {
    for await (const stored of store.read(streamId, { after: 0, signal: controller.signal })) {
      if (stored.event.type === 'approval-request' && answered.has(stored.event.approvalId)) after = stored.id;
      if (stored.id >= info.lastId) break;
    }
  } finally {
    controller.abort();
  }
  return { after, answered };
}

/**
 * The `until` of a follower whose client answers approvals with a new request: tells the codec to
 * end the response where the run waits for approvals, once the follower is past the replay.
 * @param codec - the response's codec
 * @param replayEnd - the stream's last event id when the follower started (earlier events are replay: a request answered later in the log is no reason to stop)
 * @param answered - approvals this very request answered
 * @param clientTools - tools the client runs itself (AG-UI frontend tools)
 */
export function pauseForApprovals(
  codec: { pauseForApproval(): void },
  replayEnd: number,
  answered?: ReadonlySet<string>,
  clientTools?: ReadonlySet<string>,
): (stored: StoredEvent) => boolean {
  const pause = createApprovalPause({ ...(answered === undefined ? {} : { answered }), ...(clientTools === undefined ? {} : { clientTools }) });
  return (stored) => {
    const waiting = pause.add(stored.event);
    if (waiting && stored.id >= replayEnd) {
      codec.pauseForApproval();
      return true;
    }
    return false;
  };
}

/**
 * The approval decisions in an AI SDK request: the tool parts of the last assistant message in
 * state `approval-responded` (what `addToolApprovalResponse` sends).
 * @param messages - the request's UI messages
 */
export function uiApprovalResponses(messages: readonly { role: string; parts: readonly { type: string }[] }[]): ClientApproval[] {
  const last = messages.at(-1);
  if (last?.role !== 'assistant') return [];
  const out: ClientApproval[] = [];
  for (const part of last.parts as readonly Record<string, unknown>[]) {
    if (part.state !== 'approval-responded' || typeof part.toolCallId !== 'string') continue;
    const approval = part.approval as { id?: unknown; approved?: unknown; reason?: unknown } | undefined;
    if (typeof approval?.id !== 'string' || typeof approval.approved !== 'boolean') continue;
    out.push({
      approvalId: approval.id,
      toolCallId: part.toolCallId,
      approved: approval.approved,
      ...(typeof approval.reason === 'string' ? { reason: approval.reason } : {}),
    });
  }
  return out;
}
