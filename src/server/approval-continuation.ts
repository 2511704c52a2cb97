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
import { HttpError, quote } from './http-error.ts';
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

/** An approval the server itself asked for: its `approval-request` as the stream logged it. */
export interface LoggedApproval {
  approvalId: string;
  toolCallId: string;
  toolName: string;
  /** The validated input the call was asked about (and runs with, never a client's copy). */
  input: unknown;
  /** The id of the `approval-request` event in the stream. */
  eventId: number;
  /**
   * The call already ended in the log (a result, an error, a denial): a takeover ended it
   * "interrupted", or it ran. A decision that comes now carries nothing out.
   */
  settled: boolean;
}

/**
 * The `approval-request` events of a stream, up to `lastId`, by approval id.
 * @param store - the stream store
 * @param streamId - the stream
 * @param lastId - the stream's last event id when it was looked at
 */
export async function loggedApprovals(store: StreamStore, streamId: string, lastId: number): Promise<Map<string, LoggedApproval>> {
  const out = new Map<string, LoggedApproval>();
  if (lastId <= 0) return out;
  const byCall = new Map<string, LoggedApproval>();
  const controller = new AbortController();
  try {
    for await (const stored of store.read(streamId, { after: 0, signal: controller.signal })) {
      const event = stored.event;
      if (event.type === 'approval-request') {
        const logged = { approvalId: event.approvalId, toolCallId: event.toolCallId, toolName: event.toolName, input: event.input, eventId: stored.id, settled: false };
        out.set(event.approvalId, logged);
        byCall.set(event.toolCallId, logged);
      } else if (event.type === 'tool-result' || event.type === 'tool-error' || event.type === 'tool-output-denied') {
        const logged = byCall.get(event.toolCallId);
        if (logged !== undefined) logged.settled = true;
      }
      if (stored.id >= lastId) break;
    }
  } finally {
    controller.abort();
  }
  return out;
}

/** A client's decision matched with the approval the server logged. */
export type VerifiedApproval = ClientApproval & { logged: LoggedApproval };

/** What {@link answerLoggedApprovals} did with a request's decisions. */
export interface AnsweredApprovals {
  /** Decisions recorded now: the first answer to their approval. */
  fresh: VerifiedApproval[];
  /** Decisions whose approval was answered before (another tab, the REST route, the timeout, a stop, a replay). */
  already: VerifiedApproval[];
}

/**
 * Checks every decision of a request against the approvals stream `streamId` really logged, then
 * records them (the first answer wins). Nothing is recorded unless every decision names an
 * `approval-request` of that stream for that very tool call.
 * @param store - the stream store
 * @param streamId - the chat's stream (already checked to be the caller's)
 * @param lastId - the stream's last event id
 * @param decisions - the request's decisions
 * @returns which decisions were recorded now and which found their approval answered already
 * @throws HttpError 409 `approval_not_found` when a decision answers no logged approval (made up, another stream's, another call's)
 */
export async function answerLoggedApprovals(store: StreamStore, streamId: string, lastId: number, decisions: readonly ClientApproval[]): Promise<AnsweredApprovals> {
  const logged = await loggedApprovals(store, streamId, lastId);
  const verified: VerifiedApproval[] = [];
  for (const decision of decisions) {
    const request = logged.get(decision.approvalId);
    if (request === undefined || request.toolCallId !== decision.toolCallId) throw approvalNotFound(decision);
    verified.push({ ...decision, logged: request });
  }
  const fresh: VerifiedApproval[] = [];
  const already: VerifiedApproval[] = [];
  for (const decision of verified) {
    // The log already ended this call (a takeover's "interrupted", say): nothing to carry out.
    if (decision.logged.settled) {
      already.push(decision);
      continue;
    }
    const answer = decision.reason === undefined ? { approved: decision.approved } : { approved: decision.approved, reason: decision.reason };
    const result = await store.answerApproval(streamId, decision.approvalId, answer);
    if (result === 'answered') fresh.push(decision);
    else if (result === 'already_answered') already.push(decision);
    // Logged but never opened in the store (its record expired): nobody can answer it any more.
    else throw approvalNotFound(decision);
  }
  return { fresh, already };
}

/** The 409 of a decision that answers no approval this server asked for (in the caller's chat). */
export function approvalNotFound(decision: { approvalId: string; toolCallId: string }): HttpError {
  return new HttpError(
    409,
    'approval_not_found',
    `No pending approval ${quote(decision.approvalId)} for tool call ${quote(decision.toolCallId)} in this chat: it was never asked for, has expired, or belongs to another API key. Nothing was run; ask again in a new message.`,
  );
}

/** The 409 of a request whose every decision came after its approval was answered. */
export function alreadyAnswered(decisions: readonly { approvalId: string }[]): HttpError {
  return new HttpError(
    409,
    'already_answered',
    `${decisions.length === 1 ? 'The approval' : 'The approvals'} ${decisions.map((decision) => JSON.stringify(decision.approvalId)).join(', ')} ${decisions.length === 1 ? 'was' : 'were'} answered already (another tab, the approvals route, a stop or the timeout came first); the stream says which answer counted. Nothing was run again.`,
  );
}
