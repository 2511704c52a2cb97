/**
 * Runs that outlive their producer: when the instance producing a run dies (its lease lapses) or
 * drains, another instance takes the run over from the log. The store decides who (one atomic claim
 * with a new fencing token, see `StreamStore.onTakeover`); this module continues a claimed run — it
 * reads the log up to the claim, and the app's `resume` rebuilds the run's source from the stored
 * request and those events — and hands a draining instance's runs over. See docs/takeover.md.
 *
 * @module
 */
import type { AgentEvent } from '../../protocol/types.ts';
import { producerLostEvent } from '../../store/errors.ts';
import type { StreamStore, StreamWriter, TakeoverClaim } from '../../store/types.ts';

/** The environment variable of the number of takeovers a run may have. */
export const MAX_TAKEOVERS_ENV = 'SLUICE_MAX_TAKEOVERS';
/** Takeovers per run when `SLUICE_MAX_TAKEOVERS` is not set (DESIGN). */
export const DEFAULT_MAX_TAKEOVERS = 2;

/** What `sluice_takeovers_total{outcome}` counts. */
export type TakeoverOutcome = 'resumed' | 'failed' | 'exhausted' | 'handed_over';

/** How a run manager takes runs over (`RunManagerOptions.takeover`). */
export interface TakeoverOptions {
  /** Times a run may be taken over; stored with each run this instance starts. */
  maxTakeovers: number;
  /**
   * Rebuilds a run's source from its stored request and the events of its log so far (no terminal
   * one); the source's events follow the log's last one. Throws when the run cannot be continued
   * here (then it ends with `producer_lost`).
   */
  resume(request: unknown, events: readonly AgentEvent[]): (signal: AbortSignal) => AsyncIterable<AgentEvent>;
  /** Counts takeovers (the metric). */
  onOutcome?(outcome: TakeoverOutcome, count: number): void;
}

/**
 * Reads `SLUICE_MAX_TAKEOVERS`.
 * @param env - the environment
 * @returns the number (≥ 0), {@link DEFAULT_MAX_TAKEOVERS} when unset
 * @throws RangeError when it is not a non-negative integer
 */
export function readMaxTakeovers(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[MAX_TAKEOVERS_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_MAX_TAKEOVERS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`Expected ${MAX_TAKEOVERS_ENV} to be a non-negative integer, got ${JSON.stringify(raw)}.`);
  return value;
}

/** The events of a stream's log up to `lastId` (the log as it was when the lease was claimed). */
async function readLog(store: StreamStore, id: string, lastId: number): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  if (lastId === 0) return events;
  const controller = new AbortController();
  try {
    for await (const stored of store.read(id, { signal: controller.signal })) {
      events.push(stored.event);
      if (stored.id >= lastId) break;
    }
  } finally {
    controller.abort();
  }
  if (events.length !== lastId) throw new Error(`Stream ${JSON.stringify(id)}: read ${events.length} of its ${lastId} events to take it over.`);
  return events;
}

/**
 * Prepares a claimed run: its log up to the claim and the source that continues it. When that
 * fails (no request stored, a request this instance cannot serve, an unreadable log), the run ends
 * with `producer_lost`, written with the claim's token, and the error is thrown.
 * @param store - the store
 * @param claim - what the store handed over
 * @param options - the app's `resume`
 * @returns the source
 */
export async function adoptClaim(
  store: StreamStore,
  claim: TakeoverClaim,
  options: TakeoverOptions,
): Promise<(signal: AbortSignal) => AsyncIterable<AgentEvent>> {
  try {
    if (claim.request === undefined) throw new Error(`Stream ${JSON.stringify(claim.info.id)} has no stored request to continue from.`);
    const events = await readLog(store, claim.info.id, claim.lastId);
    return options.resume(claim.request, events);
  } catch (error) {
    await claim.writer.append(producerLostEvent()).catch(() => undefined);
    await claim.writer.close().catch(() => undefined);
    throw error;
  }
}

/** What {@link handOverRuns} needs of a run. */
export interface HandOverRun {
  readonly id: string;
  readonly writer: StreamWriter;
  readonly done: Promise<void>;
  abort(reason: string): void;
  handingOver: boolean;
}

/** How often a draining instance asks whether its handed-over runs have a new producer. */
const HANDED_POLL_MS = 100;

/**
 * Hands runs to other instances: each stops producing (nothing more is appended, no terminal
 * event) and gives its lease up, then this waits until each has a new producer (its token went up)
 * or has ended, at most until `deadline`.
 * @returns how many runs got a new producer
 */
export async function handOverRuns(store: StreamStore, runs: readonly HandOverRun[], deadline: number, onError: (error: unknown) => void): Promise<number> {
  for (const run of runs) {
    run.handingOver = true;
    run.abort('handover');
  }
  // The pump gives the lease up once the run's last append settled.
  await Promise.all(runs.map((run) => run.done));
  let handed = 0;
  await Promise.all(
    runs.map(async (run) => {
      while (Date.now() < deadline) {
        try {
          const info = await store.info(run.id);
          if (info === undefined || info.state === 'done') return;
          if ((info.token ?? 0) > run.writer.token) {
            handed++;
            return;
          }
        } catch (error) {
          onError(error);
        }
        await new Promise((resolve) => setTimeout(resolve, HANDED_POLL_MS));
      }
    }),
  );
  return handed;
}
