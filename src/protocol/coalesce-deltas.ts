/**
 * Coalescing of deltas over a short window: what padding does not hide (a frame per token, sent the
 * moment the token exists, so the timing of frames still counts tokens) is blurred by sending the
 * deltas of a window together.
 *
 * @module
 */
import type { AgentEvent } from './types.ts';

/** Options of {@link coalesceDeltas}. */
export interface CoalesceDeltasOptions {
  /**
   * How long the first delta of a run may wait for more of the same part before it is sent.
   * @defaultValue 50
   */
  windowMs?: number;
  /** A run of deltas this long (UTF-16 units) is sent at once. @defaultValue 1024 */
  maxLength?: number;
}

type DeltaEvent = Extract<AgentEvent, { type: 'text-delta' | 'reasoning-delta' | 'tool-call-delta' }>;

function isDelta(event: AgentEvent): event is DeltaEvent {
  return event.type === 'text-delta' || event.type === 'reasoning-delta' || event.type === 'tool-call-delta';
}

function partOf(event: DeltaEvent): string {
  return event.type === 'tool-call-delta' ? `${event.type}\u0000${event.toolCallId}` : `${event.type}\u0000${event.id}`;
}

/**
 * Joins consecutive deltas of one part (text, reasoning or a tool call's input) that arrive within
 * `windowMs` of the first into one event; every other event passes at once, after the deltas
 * before it. The text is unchanged, only cut differently; each frame then carries a window's
 * tokens, and the frames' timing no longer counts them one by one. Costs up to `windowMs` of
 * latency per frame. Stopping the returned iterator stops the source.
 * @param source - agent events
 * @param options - the window
 * @returns the same events with deltas joined
 * @example
 * ```ts
 * await sendStream(res, coalesceDeltas(runAgent(…), { windowMs: 50 }), { format: agentSse({ padding: true }) })
 * ```
 */
export async function* coalesceDeltas(source: AsyncIterable<AgentEvent>, options: CoalesceDeltasOptions = {}): AsyncGenerator<AgentEvent, void, undefined> {
  const windowMs = options.windowMs ?? 50;
  const maxLength = options.maxLength ?? 1024;
  if (!Number.isFinite(windowMs) || windowMs < 0) throw new RangeError(`Expected \`windowMs\` to be a non-negative number, got ${String(windowMs)}.`);
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`Expected \`maxLength\` to be a positive integer, got ${String(maxLength)}.`);
  const iterator = source[Symbol.asyncIterator]();
  let pending: DeltaEvent | undefined;
  let deadline = 0;
  // The one outstanding next() of the source: a window that closes first leaves it waiting.
  let next: Promise<IteratorResult<AgentEvent>> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      next ??= iterator.next();
      let result: IteratorResult<AgentEvent> | 'window';
      if (pending === undefined) {
        result = await next;
      } else {
        const wait = Math.max(0, deadline - Date.now());
        result = await Promise.race([next, new Promise<'window'>((resolve) => (timer = setTimeout(() => resolve('window'), wait)))]);
        clearTimeout(timer);
      }
      if (result === 'window') {
        const out = pending;
        pending = undefined;
        if (out !== undefined) yield out;
        continue;
      }
      next = undefined;
      if (result.done === true) break;
      const event = result.value;
      if (pending !== undefined && isDelta(event) && partOf(event) === partOf(pending)) {
        pending = { ...pending, delta: pending.delta + event.delta };
        if (pending.delta.length >= maxLength) {
          const out = pending;
          pending = undefined;
          yield out;
        }
        continue;
      }
      if (pending !== undefined) {
        const out = pending;
        pending = undefined;
        yield out;
      }
      if (isDelta(event) && windowMs > 0) {
        pending = event;
        deadline = Date.now() + windowMs;
      } else {
        yield event;
      }
    }
    if (pending !== undefined) yield pending;
  } finally {
    clearTimeout(timer);
    // Stopped early (or failed): the source stops too. With a next() still outstanding, an async
    // generator queues return() behind it, so it is not awaited (a stalled source would hang here);
    // its rejection cannot matter to a consumer that has left.
    if (next === undefined) await iterator.return?.();
    else void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
