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
}

/** Width of a gap bucket, ms. */
export const GAP_BUCKET_MS = 0.1;

/** The last bucket (60 s); longer gaps are counted in it. */
export const GAP_MAX_BUCKET = 600_000;
