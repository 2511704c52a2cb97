/**
 * One timer for the deadlines of every stream of this realm (heartbeats, held heads, send
 * timeouts), instead of a timer per stream and deadline: thousands of slow streams then cost one
 * pending timer, and a stream's deadline is three fields of its own object, not a timer object.
 *
 * Deadlines are bucketed by their interval: all the entries waiting `ms` milliseconds are in one
 * list, in the order they started waiting, which (the interval being the same) is the order they
 * fall due. Linking an entry at the tail, unlinking it, and restarting its wait (moving it to the
 * tail: a heartbeat restarts after each write) are O(1); the timer only ever needs the head of
 * each list. It is armed for the earliest head and, when heads move later (their streams wrote),
 * fires early at most once per interval and re-arms. Uses only `setTimeout`/`clearTimeout` and
 * `performance.now()`: it runs in every runtime the core supports.
 *
 * Except on Cloudflare Workers, whose timers belong to the request that set them (its callback
 * runs in that request's context, where another request's streams cannot be written, and it is
 * dropped when that request ends): there each entry keeps a timer of its own, as streams did
 * before the wheel, with the same semantics.
 *
 * @module
 */

/** What the wheel links: an object with room for its links (the stream engine). */
export interface DeadlineEntry {
  /** The list the entry is waiting in; undefined when it waits for nothing. */
  deadlineList: DeadlineList | undefined;
  deadlinePrev: DeadlineEntry | DeadlineList | undefined;
  deadlineNext: DeadlineEntry | DeadlineList | undefined;
  /** When the entry started waiting (`performance.now()`): it is due `interval` ms later. */
  deadlineSince: number;
  /** Called once when the deadline is due; the entry is already out of its list. */
  deadlineDue(): void;
}

/** The entries that wait `interval` ms, oldest first: a circular list with itself as the sentinel. */
export class DeadlineList {
  readonly interval: number;
  deadlinePrev: DeadlineEntry | DeadlineList;
  deadlineNext: DeadlineEntry | DeadlineList;

  constructor(interval: number) {
    this.interval = interval;
    this.deadlinePrev = this;
    this.deadlineNext = this;
  }
}

// An entry is due when at most this much of its interval is left: the runtime's timers have
// millisecond resolution (Node's fire up to 1 ms before `performance.now()` says they are due).
const TOLERANCE_MS = 1;

/** Whether each entry keeps its own timer (Cloudflare Workers: timers are per request). */
export const OWN_TIMERS = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent === 'Cloudflare-Workers';

const lists = new Map<number, DeadlineList>();
let timer: ReturnType<typeof setTimeout> | undefined;
let timerDue = Number.POSITIVE_INFINITY;

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}

/** Arms the timer for `due`, unless it is already armed for that time or earlier. */
function arm(due: number, now: number): void {
  if (due >= timerDue) return;
  if (timer !== undefined) clearTimeout(timer);
  timerDue = due;
  timer = setTimeout(fire, Math.max(0, Math.ceil(due - now)));
  // Deadlines never keep a process alive on their own (as the per-stream timers they replace).
  unref(timer);
}

function fire(): void {
  timer = undefined;
  timerDue = Number.POSITIVE_INFINITY;
  const now = performance.now();
  // First what is due now, then the callbacks: an entry that a callback links again (a heartbeat
  // restarting its wait) is due at the next run at the earliest, even with a 0 or 1 ms interval.
  const due: DeadlineEntry[] = [];
  const since: number[] = [];
  for (const list of lists.values()) {
    for (let at = list.deadlineNext; at !== list; at = (at as DeadlineEntry).deadlineNext as DeadlineEntry | DeadlineList) {
      const entry = at as DeadlineEntry;
      if (entry.deadlineSince + list.interval > now + TOLERANCE_MS) break;
      due.push(entry);
      since.push(entry.deadlineSince);
    }
  }
  for (let i = 0; i < due.length; i++) {
    const entry = due[i] as DeadlineEntry;
    // Still waiting the same wait (an earlier callback may have ended or restarted it).
    if (entry.deadlineList === undefined || entry.deadlineSince !== since[i]) continue;
    unlinkDeadline(entry);
    // The entry's own code is guarded (a stream turns its failures into its outcome); a throw
    // here would be a bug, and must not stop the other entries' deadlines.
    try {
      entry.deadlineDue();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  let next = Number.POSITIVE_INFINITY;
  for (const list of lists.values()) {
    const head = list.deadlineNext as DeadlineEntry;
    if (head.deadlineSince + list.interval < next) next = head.deadlineSince + list.interval;
  }
  if (next !== Number.POSITIVE_INFINITY) arm(next, performance.now());
}

/**
 * Starts `entry`'s wait of `interval` ms from `since`, at the tail of its interval's list (out of
 * any list it was in).
 * @param entry - the entry
 * @param interval - milliseconds (finite, >= 0)
 * @param since - when the wait started (`performance.now()`, not earlier than the list's tail)
 */
export function linkDeadline(entry: DeadlineEntry, interval: number, since: number): void {
  if (entry.deadlineList !== undefined) unlinkDeadline(entry);
  if (OWN_TIMERS) {
    entry.deadlineList = new DeadlineList(interval);
    entry.deadlineSince = since;
    armOwn(entry, Math.max(0, Math.ceil(since + interval - performance.now())));
    return;
  }
  let list = lists.get(interval);
  if (list === undefined) {
    list = new DeadlineList(interval);
    lists.set(interval, list);
  }
  const tail = list.deadlinePrev;
  entry.deadlineList = list;
  entry.deadlineSince = since;
  entry.deadlinePrev = tail;
  entry.deadlineNext = list;
  tail.deadlineNext = entry;
  list.deadlinePrev = entry;
  // A new head: the only case where the earliest due time can come sooner.
  if (tail === list) arm(since + interval, performance.now());
}

/** Ends `entry`'s wait, if it has one (its list is dropped once empty). */
export function unlinkDeadline(entry: DeadlineEntry): void {
  const list = entry.deadlineList;
  if (list === undefined) return;
  if (OWN_TIMERS) {
    clearTimeout(ownTimers.get(entry));
    ownTimers.delete(entry);
    entry.deadlineList = undefined;
    return;
  }
  const prev = entry.deadlinePrev as DeadlineEntry | DeadlineList;
  const next = entry.deadlineNext as DeadlineEntry | DeadlineList;
  prev.deadlineNext = next;
  next.deadlinePrev = prev;
  entry.deadlineList = entry.deadlinePrev = entry.deadlineNext = undefined;
  if (list.deadlineNext !== list) return;
  lists.delete(list.interval);
  // Nothing waits any more: no wake-up for nothing.
  if (lists.size === 0 && timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
    timerDue = Number.POSITIVE_INFINITY;
  }
}

/**
 * Restarts `entry`'s wait from `since` in the list it is in (a stream that wrote is idle again
 * from then): moves it to the tail. No timer is touched: a later head makes the timer fire early
 * at most once, and it re-arms.
 * @param entry - an entry in a list
 * @param since - `performance.now()` of the restart, not earlier than the list's tail
 */
export function restartDeadline(entry: DeadlineEntry, since: number): void {
  entry.deadlineSince = since;
  // An entry's own timer finds the later start when it fires, and waits for the rest.
  if (OWN_TIMERS) return;
  const list = entry.deadlineList as DeadlineList;
  const tail = list.deadlinePrev;
  if (tail === entry) return;
  const prev = entry.deadlinePrev as DeadlineEntry | DeadlineList;
  const next = entry.deadlineNext as DeadlineEntry | DeadlineList;
  prev.deadlineNext = next;
  next.deadlinePrev = prev;
  entry.deadlinePrev = tail;
  entry.deadlineNext = list;
  tail.deadlineNext = entry;
  list.deadlinePrev = entry;
}

// Cloudflare Workers: each entry's own timer (a WeakMap, so that entries elsewhere carry no field
// for it).
const ownTimers = new WeakMap<DeadlineEntry, ReturnType<typeof setTimeout>>();

function armOwn(entry: DeadlineEntry, ms: number): void {
  ownTimers.set(entry, setTimeout(fireOwn, ms, entry));
}

function fireOwn(entry: DeadlineEntry): void {
  ownTimers.delete(entry);
  const list = entry.deadlineList;
  if (list === undefined) return;
  const rest = entry.deadlineSince + list.interval - performance.now();
  if (rest > TOLERANCE_MS) {
    armOwn(entry, Math.ceil(rest));
    return;
  }
  entry.deadlineList = undefined;
  entry.deadlineDue();
}

/** For tests: how many entries wait, and whether the shared timer is armed. */
export function deadlineWheelState(): { entries: number; lists: number; armed: boolean } {
  let entries = 0;
  for (const list of lists.values()) {
    for (let at = list.deadlineNext; at !== list; at = (at as DeadlineEntry).deadlineNext as DeadlineEntry | DeadlineList) entries++;
  }
  return { entries, lists: lists.size, armed: timer !== undefined };
}
