/**
 * `POST /v1/streams/:id/approvals/:approvalId`: answers a pending approval of a run, on any
 * instance sharing the store; the producing instance hears it through the store.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { HttpError, quote, sendJson } from '../http-error.ts';
import { readJson } from '../read-json.ts';
import { approvalReason } from '../request-schemas.ts';
import type { RouteHandler } from '../router.ts';
import type { StreamContext } from '../runs/stream-context.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** The body of an answer. */
const ApprovalBody = z.object({
  approved: z.boolean(),
  reason: approvalReason.optional(),
});

/** The 404 of an approval that is unknown, or of a stream that is another key's. */
function approvalNotFound(approvalId: string): HttpError {
  return new HttpError(404, 'not_found', `No pending approval ${quote(approvalId)} in this stream: it is unknown, expired, or belongs to another API key.`);
}

/** The 409 of an approval answered already, or whose run has ended. */
function alreadyAnswered(approvalId: string): HttpError {
  return new HttpError(409, 'already_answered', `The approval ${quote(approvalId)} was answered already (or its run has ended); the first answer stands.`);
}

/** Builds the approval handler. */
export function approvalRoutes(context: StreamContext): Record<'answer', RouteHandler> {
  return {
    async answer(req, res, { params, owner }) {
      const id = params.id ?? '';
      const approvalId = params.approvalId ?? '';
      const body = await readJson(req, ApprovalBody);
      const streams = await context.streams();
      // Another key's stream is as unknown as a missing one.
      const info = await streams.find(id, owner).catch(() => {
        throw approvalNotFound(approvalId);
      });
      if (info.state === 'done') throw alreadyAnswered(approvalId);
      const answer = body.reason === undefined ? { approved: body.approved } : { approved: body.approved, reason: body.reason };
      const result = await streams.store.answerApproval(id, approvalId, answer);
      if (result === 'not_found') throw approvalNotFound(approvalId);
      if (result === 'already_answered') throw alreadyAnswered(approvalId);
      // 202: the run (on whichever instance) goes on; `approval-response` follows in the stream.
      sendJson(res, 202, { id, approvalId, approved: body.approved });
    },
  };
}
