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

/** The last bucket (120 s); later events are counted in it. */
export const MAX_BUCKET = 1_200_000;

/**
 * How long after its last event was due a client may still be open before the load generator cuts
 * it (and counts it as a failure), so that a run stays bounded. Long: at C = 5,000 on a 2-core
 * machine the servers and the load generators together need more CPU than there is, events arrive
 * seconds late, and the bench still wants every event delivered to compare the same work.
 * `SLOW_GRACE_MS` overrides it.
 */
export const GRACE_MS = Number(process.env.SLOW_GRACE_MS ?? 90_000);
