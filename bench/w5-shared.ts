/**
 * What the W5 load generator (bench/w5-client.ts) reports to the bench (bench/w5-agent-chats.bench.ts).
 *
 * @module
 */

/** What one load-generator process saw. */
export interface W5ClientReport {
  /** Chats opened by this process. */
  chats: number;
  /** Chats answered 200 with deltas and their terminal frame. */
  complete: number;
  /** SSE frames received, all chats. */
  frames: number;
  /** Delta frames received, all chats. */
  deltas: number;
  /** The first few chats that did not complete: [chat, why]. */
  failures: [number, string][];
  /** Delta-gap histogram: [bucket, count] for the non-empty buckets of {@link GAP_BUCKET_MS}. */
  histogram: [number, number][];
  /** The load generator's own CPU time, seconds. */
  cpuSeconds: number;
  /**
   * Per chat that got a delta, ms from opening its connection to its first delta (the server's
   * answer time under the load, the model's own first-token delay included), in chat order.
   */
  firstDeltaMs?: number[];
  /**
   * With `resume` (bench/multi-instance.bench.ts): SSE frames received per upstream, as nginx
   * named it in `X-Sluice-Upstream` (`127.0.0.1:<port>`; `''` when the answer had no such header),
   * replays included: [upstream, frames].
   */
  upstreamFrames?: [string, number][];
  /** With `resume`: what happened to each chat. */
  chatDetails?: W5ChatDetail[];
}

/** How one chat of a `resume` load generator ended (times are epoch milliseconds, fractional). */
export interface W5ChatDetail {
  chat: number;
  /** The upstream that answered the `POST` (the run's producer). */
  upstream: string;
  /**
   * `complete`: `finish` then `[DONE]`; `producer_lost`: the `error` chunk of a lost producer then
   * `[DONE]`; `error: …`, `abort`: another terminal chunk; `cut`: no terminal chunk by the deadline;
   * `refused: …`: an answer other than 200 (`204` on a resume: no running stream to resume).
   */
  outcome: string;
  /** When the first answer broke off before its terminal chunk (the connection closed). */
  cutAt?: number;
  /** Resume requests sent (`GET /api/chat/:id/stream`). */
  resumes: number;
  /** When the first frame past what the chat had before the cut arrived, on a resume. */
  firstNewAt?: number;
  /** When the takeover's seam arrived: the stream's second `start-step` (the local model's answer has one step). */
  seamAt?: number;
  endAt: number;
}

/** Width of a gap bucket, ms. */
export const GAP_BUCKET_MS = 0.1;

/** The last bucket (60 s); longer gaps are counted in it. */
export const GAP_MAX_BUCKET = 600_000;

/**
 * The delta gap at percentile `p` of a histogram of {@link GAP_BUCKET_MS} buckets, in ms.
 * @param histogram - bucket → count
 * @param p - 0.5, 0.99 …
 */
export function gapPercentile(histogram: ReadonlyMap<number, number>, p: number): number {
  const total = [...histogram.values()].reduce((sum, count) => sum + count, 0);
  const rank = Math.ceil(total * p);
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket)!;
    if (seen >= rank) return bucket * GAP_BUCKET_MS;
  }
  return Number.NaN;
}
