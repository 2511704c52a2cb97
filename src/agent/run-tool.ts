/**
 * Runs one tool call: validates the input, runs `execute` with a signal that aborts on the
 * request's stop or the tool's timeout, turns what it yields into agent events, and settles with
 * its result or the message of its failure.
 *
 * @module
 */
import type { AgentEvent } from '../protocol/types.ts';
import type { AnyAgentTool, ToolContext, ToolUpdate } from './types.ts';

/** How a tool call ended. */
export type ToolOutcome = { ok: true; output: unknown } | { ok: false; message: string };

/** Options of {@link runTool}. */
export interface RunToolOptions {
  toolCallId: string;
  input: unknown;
  /** The request's signal: when it aborts, `runTool` rejects with its reason. */
  signal: AbortSignal | undefined;
  /** The tool is aborted and fails after this long. */
  timeoutMs: number;
  /** Receives each event the tool produces, as it happens. */
  emit(event: AgentEvent): void;
  /** The run's owner, passed on to the tool's context. */
  owner?: string | undefined;
  /** The run's quota subject, passed on to the tool's context. */
  subject?: string | undefined;
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<ToolUpdate, unknown, undefined> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { next?: unknown }).next === 'function' &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Turns a tool's update into the agent event the client receives, with the call's id.
 * (`toolCallId` on `progress`, `source` and `data`, as DESIGN.md fixes them).
 * @param update - what the tool yielded
 * @param toolCallId - the call's id
 * @returns the event
 * @throws TypeError when the update is not a progress, source or data object
 */
export function toToolEvent(update: ToolUpdate, toolCallId: string): AgentEvent {
  switch ((update as { type?: unknown } | null)?.type) {
    case 'progress': {
      const { done, total, message } = update as Extract<ToolUpdate, { type: 'progress' }>;
      if (typeof done !== 'number' || typeof total !== 'number' || !(done >= 0) || !(total >= 0)) {
        throw new TypeError(`Expected a progress update with numbers \`done\` and \`total\` ≥ 0, got done ${String(done)}, total ${String(total)}.`);
      }
      return { type: 'progress', toolCallId, done, total, ...(message === undefined ? {} : { message }) };
    }
    case 'source': {
      const { type: _type, ...source } = update as Extract<ToolUpdate, { type: 'source' }>;
      if (typeof source.id !== 'string') throw new TypeError(`Expected a source update with a string \`id\`, got ${describe(source.id)}.`);
      return { type: 'source', toolCallId, ...source };
    }
    case 'data': {
      const { name, value } = update as Extract<ToolUpdate, { type: 'data' }>;
      if (typeof name !== 'string') throw new TypeError(`Expected a data update with a string \`name\`, got ${describe(name)}.`);
      return { type: 'data', toolCallId, name, value };
    }
    default:
      throw new TypeError(`Expected a tool to yield \`progress\`, \`source\` or \`data\` updates, got ${JSON.stringify(update)}.`);
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : error.message;
  return String(error);
}

/**
 * Runs one call of `tool`. Progress is kept monotonic (`done` never goes back, never past
 * `total`), and a tool that succeeds after reporting progress short of its total gets a last
 * `progress` at `total`. A throw, invalid input, an invalid update or the timeout settle as
 * `{ ok: false, message }`; the request's abort rejects with the signal's reason. In both abort
 * cases the tool's own signal aborts and a generator is closed with `return()`, so its `finally`
 * runs once its pending await settles.
 * @param tool - the tool
 * @param options - the call and where its events go
 * @returns the outcome
 */
export async function runTool(tool: AnyAgentTool, options: RunToolOptions): Promise<ToolOutcome> {
  const { toolCallId, emit, timeoutMs } = options;
  const timeout = new AbortController();
  const timer = setTimeout(() => {
    timeout.abort(new DOMException(`The tool \`${tool.name}\` timed out after ${timeoutMs} ms.`, 'TimeoutError'));
  }, timeoutMs);
  const signal = options.signal === undefined ? timeout.signal : AbortSignal.any([options.signal, timeout.signal]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // Only raced, never awaited alone: an abort after the tool settled must not be unhandled.
  aborted.catch(() => undefined);

  let generator: AsyncGenerator<ToolUpdate, unknown, undefined> | undefined;
  let finished = false;
  let progress: { done: number; total: number } | undefined;
  try {
    signal.throwIfAborted();
    const input = tool.parseInput(options.input);
    const context: ToolContext = { toolCallId, signal };
    if (options.owner !== undefined) context.owner = options.owner;
    if (options.subject !== undefined) context.subject = options.subject;
    const result = tool.execute(input, context);
    let output: unknown;
    if (isAsyncGenerator(result)) {
      generator = result;
      for (;;) {
        const step = await Promise.race([generator.next(), aborted]);
        if (step.done === true) {
          output = step.value;
          break;
        }
        const event = toToolEvent(step.value, toolCallId);
        if (event.type === 'progress') {
          const total = event.total;
          const done = Math.min(Math.max(event.done, progress?.done ?? 0), total);
          progress = { done, total };
          event.done = done;
        }
        emit(event);
      }
    } else {
      output = await Promise.race([result, aborted]);
    }
    finished = true;
    if (progress !== undefined && progress.done < progress.total) {
      emit({ type: 'progress', toolCallId, done: progress.total, total: progress.total });
    }
    return { ok: true, output: output === undefined ? null : output };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.signal.aborted) return { ok: false, message: errorMessage(timeout.signal.reason) };
    return { ok: false, message: errorMessage(error) };
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    if (!finished) {
      // The tool is stopped but may still be inside an await: abort its signal (for a failed
      // update it has not been), then queue return() so its `finally` runs when that await settles.
      if (!signal.aborted) timeout.abort(new DOMException(`The tool \`${tool.name}\` was stopped.`, 'AbortError'));
      void generator?.return(undefined).catch(() => undefined);
    }
  }
}
