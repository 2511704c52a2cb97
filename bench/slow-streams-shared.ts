/**
 * What the slow-streams load generator (bench/slow-streams-client.ts) reports to the bench
 * (bench/slow-streams.bench.ts).
 *
 * @module
 */

/** What one load-generator process saw. */
export interface ClientReport {
  /** Clients opened by this process. */
  clients: number;
  /** Clients that received exactly `n` events and a clean end. */
  complete: number;
  /** Events received, all clients. */
  events: number;
  /** The first few clients that did not get exactly `n` events: [client, events, why]. */
  failures: [number, number, string][];
  /** Lateness histogram: [bucket, count] for the non-empty buckets of {@link BUCKET_MS}. */
  histogram: [number, number][];
  /** The load generator's own CPU time, seconds. */
  cpuSeconds: number;
}

/** Width of a lateness bucket, ms. */
export const BUCKET_MS = 0.1;

/** The last bucket (60 s); later events are counted in it. */
export const MAX_BUCKET = 600_000;
