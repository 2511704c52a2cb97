/**
 * What the multi-instance bench (bench/multi-instance.bench.ts) checks of a run
 * (bench/multi-run.ts): every chat ended `complete` or `producer_lost`; every chat the killed
 * instance was producing at the kill broke off, resumed through nginx and got a new frame after
 * reconnecting; and the times from the kill to that frame and to the takeover's seam.
 *
 * @module
 */
import type { MultiResult } from './multi-run.ts';

/** The checker's reading of a run. */
export interface MultiCheck {
  /** Chats by outcome: `complete`, `producer_lost`, anything else. */
  readonly complete: number;
  readonly producerLost: number;
  readonly other: number;
  /** The killed instance's chats still running at the kill (their answer broke off after it). */
  readonly victimChats: number;
  /** Of those, the ones that got a new frame on a resume. */
  readonly resumed: number;
  /** Of those, the ones that got the takeover's seam. */
  readonly seams: number;
  /** Chats of the other instances whose answer broke off (none expected). */
  readonly survivorCuts: number;
  /** From the kill to the first new frame after reconnecting, ms: p50, p99, max. */
  readonly resumeMs: readonly [number, number, number];
  /** From the kill to the seam (the second `start-step`), ms: p50, p99, max. */
  readonly seamMs: readonly [number, number, number];
  /** What breaks the contract; empty when the run passed. */
  readonly violations: readonly string[];
}

/** The p-th percentile (nearest rank) of `values`, NaN for none. */
export function nearestRank(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]!;
}

const summary = (values: readonly number[]): [number, number, number] => [nearestRank(values, 0.5), nearestRank(values, 0.99), nearestRank(values, 1)];

/**
 * Reads a run.
 * @param result - what {@link runMulti} measured
 * @returns counts, times and violations
 */
export function checkMulti(result: MultiResult): MultiCheck {
  const violations: string[] = [];
  const victim = `127.0.0.1:${result.instances[result.victim]!.port}`;
  const complete = result.chats.filter((chat) => chat.outcome === 'complete').length;
  const producerLost = result.chats.filter((chat) => chat.outcome === 'producer_lost').length;
  const others = result.chats.filter((chat) => chat.outcome !== 'complete' && chat.outcome !== 'producer_lost');
  if (result.chats.length !== result.clients) violations.push(`${result.chats.length} chats reported, ${result.clients} started`);
  for (const chat of others.slice(0, 5)) violations.push(`chat ${chat.chat} (producer ${chat.upstream}) ended ${chat.outcome} after ${chat.resumes} resumes`);
  if (others.length > 5) violations.push(`… and ${others.length - 5} more chats ended neither complete nor producer_lost`);
  // The killed instance's chats still running at the kill: their first answer broke off.
  const victimChats = result.chats.filter((chat) => chat.upstream === victim && chat.cutAt !== undefined);
  const unfinished = result.chats.filter((chat) => chat.upstream === victim && chat.cutAt === undefined && chat.endAt > result.killAt + 1000);
  for (const chat of unfinished.slice(0, 5)) violations.push(`chat ${chat.chat} was on the killed instance and ended ${(chat.endAt - result.killAt).toFixed(0)} ms after the kill without breaking off`);
  const survivorCuts = result.chats.filter((chat) => chat.upstream !== victim && chat.cutAt !== undefined).length;
  if (victimChats.length === 0) violations.push(`no chat was running on the killed instance ${result.victim} at the kill (it had ${result.victimActive} runs by its metrics)`);
  const resumed = victimChats.filter((chat) => chat.firstNewAt !== undefined);
  for (const chat of victimChats.filter((c) => c.firstNewAt === undefined).slice(0, 5)) {
    violations.push(`chat ${chat.chat} of the killed instance got no new frame after ${chat.resumes} resumes (ended ${chat.outcome})`);
  }
  const seams = victimChats.filter((chat) => chat.seamAt !== undefined);
  return {
    complete,
    producerLost,
    other: others.length,
    victimChats: victimChats.length,
    resumed: resumed.length,
    seams: seams.length,
    survivorCuts,
    resumeMs: summary(resumed.map((chat) => chat.firstNewAt! - result.killAt)),
    seamMs: summary(seams.map((chat) => chat.seamAt! - result.killAt)),
    violations,
  };
}
