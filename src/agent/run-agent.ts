/**
 * The agent loop: the model's output streams; when it calls tools the loop runs them (one step's
 * tools in parallel), streams what they yield, sends the results back to the model and goes on,
 * for up to `maxSteps` model calls.
 *
 * @module
 */
import { isSluiceError } from '../core/errors.ts';
import { openSource, type PullIterator } from '../core/open-source.ts';
import { isProviderError, toErrorEvent } from '../providers/errors.ts';
import type { AbortEvent, AgentEvent, ErrorEvent, FinishEvent, FinishReason, ToolCallEvent, Usage } from '../protocol/types.ts';
import type { ChatMessage, ChatRequest, MessagePart, Provider, ToolDefinition } from '../providers/types.ts';
import { AgentError } from './errors.ts';
import { createEventChannel } from './event-channel.ts';
import { runTool, type ToolOutcome } from './run-tool.ts';
import { decideApproval, deniedOutput } from './approval.ts';
import type { AnyAgentTool, ApprovalGate, DecidedApproval } from './types.ts';

/** The environment variable of the maximum number of steps. */
export const MAX_STEPS_ENV = 'SLUICE_MAX_STEPS';
/** Steps (model calls) per run when neither the option nor `SLUICE_MAX_STEPS` says otherwise. */
export const DEFAULT_MAX_STEPS = 5;
/** Milliseconds a tool may run before it is aborted and reported as failed. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  /** The model's provider. */
  provider: Provider;
  /** The model id within the provider. */
  model: string;
  /** The conversation so far; not modified (the loop works on a copy). */
  messages: readonly ChatMessage[];
  /** Tools the loop runs itself (e.g. `createBuiltinTools()`). */
  tools?: readonly AnyAgentTool[];
  /**
   * Tools the client runs itself (a request's `tools`, AG-UI frontend tools): offered to the model,
   * their calls streamed back, and the run ends after that step with `finish` reason `tool-calls`.
   * A client tool with the name of a server tool replaces it.
   */
  clientTools?: readonly ToolDefinition[];
  /** Aborts the model request and the running tools; the run then ends with `abort`. */
  signal?: AbortSignal;
  /**
   * Where calls of tools with `needsApproval` wait for a person's decision. Without it such a
   * call is denied (reason `no_approver`) and never runs.
   */
  approvals?: ApprovalGate;
  /**
   * Decisions already taken on calls of the conversation's last assistant message that have no
   * result yet (a client answering an approval with its next request, after the run that asked
   * has ended): before the first model call, the approved ones run and the others are denied.
   */
  decidedApprovals?: readonly DecidedApproval[];
  /** Who the run belongs to: passed to each tool's context (`publish_event` publishes on that owner's topics). */
  owner?: string | undefined;
  /** Whom the server's quotas count the run's request against: passed to each tool's context (`publish_event` counts its publishes there). */
  subject?: string | undefined;
  /**
   * Model calls at most; the tools the last one asks for still run, then the run ends.
   * @defaultValue `SLUICE_MAX_STEPS`, else 5
   */
  maxSteps?: number;
  /** @defaultValue 30000 */
  toolTimeoutMs?: number;
  /** Passed to every model call. */
  toolChoice?: ChatRequest['toolChoice'];
  maxOutputTokens?: number;
  temperature?: number;
  providerOptions?: ChatRequest['providerOptions'];
  /**
   * Where `SLUICE_MAX_STEPS` is read.
   * @defaultValue `process.env` where there is one
   */
  env?: Readonly<Record<string, string | undefined>>;
}

function checkPositiveInteger(value: number, where: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`Expected ${where} to be an integer ≥ 1, got ${String(value)}.`);
  return value;
}

function resolveMaxSteps(options: RunAgentOptions): number {
  if (options.maxSteps !== undefined) return checkPositiveInteger(options.maxSteps, '`maxSteps`');
  const env = options.env ?? (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const raw = env?.[MAX_STEPS_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_MAX_STEPS;
  return checkPositiveInteger(Number(raw), `${MAX_STEPS_ENV} (${JSON.stringify(raw)})`);
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message !== '') return reason.message;
  return typeof reason === 'string' && reason !== '' ? reason : 'The generation was stopped.';
}

function toFailure(error: unknown): AgentEvent {
  if (isProviderError(error)) return toErrorEvent(error);
  if (isSluiceError(error)) return { type: 'error', code: error.code, message: error.message, retryable: false };
  return { type: 'error', code: 'internal_error', message: 'The agent failed because of an internal error.', retryable: false };
}

function addUsage(total: Usage | undefined, next: Usage): Usage {
  if (total === undefined) return { ...next };
  const add = (a: number | null, b: number | null): number | null => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));
  return {
    inputTokens: add(total.inputTokens, next.inputTokens),
    outputTokens: add(total.outputTokens, next.outputTokens),
    totalTokens: add(total.totalTokens, next.totalTokens),
    reasoningTokens: add(total.reasoningTokens, next.reasoningTokens),
    cachedInputTokens: add(total.cachedInputTokens, next.cachedInputTokens),
  };
}

type TextPart = Extract<MessagePart, { type: 'text' | 'reasoning' }>;

/**
 * A text or reasoning part being written: its deltas are kept in a list and joined once, when the
 * part is read (a step's message) or carried over. `text += delta` would build a chain of one
 * concatenated string per delta, each one surviving every young-generation collection of a long
 * answer.
 */
interface OpenPart {
  readonly part: TextPart;
  readonly chunks: string[];
}

/** Joins the deltas written so far into the part's text. */
function settle(open: OpenPart): void {
  if (open.chunks.length === 0) return;
  open.part.text += open.chunks.join('');
  open.chunks.length = 0;
}

/** What one model call produced, rebuilt as the assistant message that goes back to the model. */
class StepMessage {
  private readonly parts: MessagePart[] = [];
  private readonly open = new Map<string, OpenPart>();
  readonly calls: ToolCallEvent[] = [];
  finish: FinishEvent | undefined;
  usage: Usage | undefined;
  /** Parts a takeover's seam interrupted: the next part of the same kind continues them. */
  private readonly carried = new Map<'text' | 'reasoning', TextPart>();

  /** The step was taken over with this much written: the continuation's parts extend it. */
  resume(continuation: { text: string; reasoning?: string }): void {
    for (const [type, text] of [['reasoning', continuation.reasoning ?? ''], ['text', continuation.text]] as const) {
      if (text === '') continue;
      const part = { type, text };
      this.parts.push(part);
      this.carried.set(type, part);
    }
  }

  /** A seam in the log: the parts open now are continued by the next ones of their kind. */
  carryOver(): void {
    for (const open of this.open.values()) {
      settle(open);
      this.carried.set(open.part.type, open.part);
    }
    this.open.clear();
  }

  add(event: AgentEvent): void {
    switch (event.type) {
      case 'text-start':
      case 'reasoning-start': {
        const kind = event.type === 'text-start' ? 'text' : 'reasoning';
        // The same id started again: the part it named keeps what was written to it.
        const previous = this.open.get(event.id);
        if (previous !== undefined) settle(previous);
        const carried = this.carried.get(kind);
        if (carried !== undefined) {
          this.carried.delete(kind);
          this.open.set(event.id, { part: carried, chunks: [] });
          break;
        }
        const part = kind === 'text' ? { type: 'text' as const, text: '' } : { type: 'reasoning' as const, text: '' };
        this.open.set(event.id, { part, chunks: [] });
        this.parts.push(part);
        break;
      }
      case 'text-delta':
      case 'reasoning-delta':
        this.open.get(event.id)?.chunks.push(event.delta);
        break;
      case 'text-end': {
        const open = this.open.get(event.id);
        if (open !== undefined) settle(open);
        break;
      }
      case 'reasoning-end': {
        const open = this.open.get(event.id);
        if (open === undefined) break;
        settle(open);
        if (open.part.type === 'reasoning' && event.signature !== undefined) open.part.signature = event.signature;
        break;
      }
      case 'tool-call':
        this.calls.push(event);
        this.parts.push({ type: 'tool-call', toolCallId: event.toolCallId, toolName: event.toolName, input: event.input });
        break;
      case 'usage': {
        const { type: _type, ...usage } = event;
        this.usage = usage;
        break;
      }
      case 'finish':
        this.finish = event;
        if (event.usage !== undefined) this.usage = event.usage;
        break;
      default:
        break;
    }
  }

  toMessage(): ChatMessage {
    for (const open of this.open.values()) settle(open);
    return { role: 'assistant', content: this.parts.filter((part) => part.type !== 'text' || part.text !== '') };
  }
}

/** The model's `error` or `abort`: the event that ends a model call, and the run. */
type Terminal = ErrorEvent | AbortEvent;

/**
 * The generator of a run's steps: it yields the run's events, and a {@link ModelCall} for each
 * model call, whose events {@link AgentStream} hands out itself; it is resumed after the call with
 * the model's terminal event, if the model sent one.
 */
type Steps = AsyncGenerator<AgentEvent | ModelCall, void, Terminal | undefined>;

/** Set once the run has sent an event: a model failure before that is thrown from the first `next()`. */
interface Progress {
  yielded: boolean;
}

/**
 * One model call of a step. `steps` yields it; {@link AgentStream} then reads the provider's
 * iterator itself and hands out each event as {@link ModelCall.map} turns it into the run's
 * events, and resumes `steps` when the call is over. A generator that yielded each event itself
 * would cost every token of the answer a resumption of that generator, with its promises and
 * microtasks.
 */
class ModelCall {
  readonly iterator: PullIterator<AgentEvent>;
  readonly #result: StepMessage;
  /** The model's `error` or `abort`: the call is over once the events before it are handed out. */
  terminal: Terminal | undefined;
  /** What {@link ModelCall.map} threw: the call fails once the events mapped before it are handed out. */
  failure: { error: unknown } | undefined;
  readonly #step: number;
  readonly #progress: Progress;
  /** Whether the model's `message-start` is the run's (the first step of a run not taken over, or the one a takeover marks). */
  readonly #announce: boolean;
  /** Whether this step's `step-start` was written already (a takeover's seam). */
  readonly #seamed: boolean;
  /** Whether this step's `step-start` is the seam, marked `takeover`. */
  readonly #marked: boolean;
  #started = false;
  /** Whether the run had sent anything before this call's first event. */
  #yieldedBefore = false;
  /** Tool calls the model has started streaming. */
  readonly #startedCalls = new Set<string>();

  constructor(iterator: PullIterator<AgentEvent>, result: StepMessage, step: { step: number; progress: Progress; announce: boolean; seamed: boolean; marked: boolean }) {
    this.iterator = iterator;
    this.#result = result;
    this.#step = step.step;
    this.#progress = step.progress;
    this.#announce = step.announce;
    this.#seamed = step.seamed;
    this.#marked = step.marked;
  }

  /** Whether the model has sent an event. */
  get started(): boolean {
    return this.#started;
  }

  /** Only the run's `message-start` went out when the consumer threw: the run counts as not started, as before that event. */
  unannounce(): void {
    this.#progress.yielded = this.#yieldedBefore;
  }

  /** Adds the run's events for one event of the model to `out` (none, one, or a few). */
  map(event: AgentEvent, out: AgentEvent[]): void {
    if (!this.#started) {
      this.#started = true;
      if (event.type === 'message-start' && this.#announce) out.push(event);
      this.#yieldedBefore = this.#progress.yielded;
      this.#progress.yielded = true;
      if (!this.#seamed) out.push({ type: 'step-start', step: this.#step, ...(this.#marked ? { takeover: true } : {}) });
    }
    this.#result.add(event);
    switch (event.type) {
      case 'message-start':
      case 'usage':
      case 'finish':
        // One message per run: later steps' message-start are dropped; usage is summed and
        // sent once; a model's finish is the step's finish.
        return;
      case 'error':
      case 'abort':
        // `steps` sends it, after the run's usage so far.
        this.terminal = event;
        return;
      case 'tool-call-start':
        this.#startedCalls.add(event.toolCallId);
        out.push(event);
        return;
      case 'tool-call':
        // A provider that sends a call whole still gets the streamed shape clients build their
        // tool parts from: start, the input as one delta, then the call.
        if (!this.#startedCalls.has(event.toolCallId)) {
          this.#startedCalls.add(event.toolCallId);
          out.push({ type: 'tool-call-start', toolCallId: event.toolCallId, toolName: event.toolName });
          out.push({ type: 'tool-call-delta', toolCallId: event.toolCallId, delta: JSON.stringify(event.input ?? {}) });
        }
        out.push(event);
        return;
      default:
        out.push(event);
    }
  }
}

/** Calls an iterator's `return()`, as `for await` does when it leaves a loop early; never throws synchronously. */
function closeIterator(iterator: PullIterator<AgentEvent>): Promise<unknown> {
  try {
    return Promise.resolve(iterator.return?.());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Closes an iterator and ignores how: the run has its outcome already, or is leaving. */
function closeQuietly(iterator: PullIterator<AgentEvent> | undefined): Promise<unknown> {
  return iterator === undefined ? Promise.resolve() : closeIterator(iterator).catch(() => undefined);
}

/**
 * The run as an async generator: the events `steps` yields, and within each model call the
 * model's events, read from the provider's iterator here (one `then` per event) rather than
 * through `steps`. Calls are answered one at a time and settle in the order they were made, as an
 * async generator's do.
 */
class AgentStream implements AsyncGenerator<AgentEvent, void, undefined> {
  readonly #steps: Steps;
  /** The model call being read, when `steps` waits for one. */
  #call: ModelCall | undefined;
  /** Events mapped from the model and not handed out yet, from `#at`. */
  readonly #out: AgentEvent[] = [];
  #at = 0;
  /**
   * The iterator of a model call that ended with the model's `error` or `abort`: closed once that
   * event has gone out (as a `for await` left with `return` after yielding it), before `steps` ends.
   */
  #ended: { iterator: PullIterator<AgentEvent>; terminal: Terminal; out: boolean } | undefined;
  #done = false;
  /** A call (`next`, `return`, `throw`) is being answered. */
  #busy = false;
  /** Calls made while another was being answered and not settled yet (and a call held, see `#hold`): later calls queue behind them on `#tail`. */
  #queued = 0;
  #tail: Promise<IteratorResult<AgentEvent, void>> | undefined;
  readonly #settledQueued = (): void => {
    this.#queued--;
  };

  /**
   * Called by a handler that answers with another promise: the call's own promise settles a few
   * microtasks after `#busy` is cleared, so it counts as queued until then, and a call made in
   * between queues behind it instead of settling first.
   */
  #hold(): void {
    if (this.#queued !== 0) return;
    this.#queued++;
    (this.#tail as Promise<IteratorResult<AgentEvent, void>>).then(this.#settledQueued, this.#settledQueued);
  }

  constructor(steps: Steps) {
    this.#steps = steps;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<AgentEvent, void>> {
    return this.#turn(this.#next);
  }

  return(): Promise<IteratorResult<AgentEvent, void>> {
    return this.#turn(this.#return);
  }

  throw(error: unknown): Promise<IteratorResult<AgentEvent, void>> {
    return this.#turn(() => this.#throw(error));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /** Answers `answer` now, or after every call made before it has settled. */
  #turn(answer: () => Promise<IteratorResult<AgentEvent, void>>): Promise<IteratorResult<AgentEvent, void>> {
    if (!this.#busy && this.#queued === 0) return (this.#tail = answer());
    this.#queued++;
    const queued = (this.#tail as Promise<IteratorResult<AgentEvent, void>>).then(answer, answer);
    // Counted until it settles, not until its answer starts: a call made in between queues behind it.
    queued.then(this.#settledQueued, this.#settledQueued);
    return (this.#tail = queued);
  }

  readonly #next = (): Promise<IteratorResult<AgentEvent, void>> => {
    if (this.#at < this.#out.length) return Promise.resolve(this.#shift());
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    this.#busy = true;
    const call = this.#call;
    if (call !== undefined) return call.terminal !== undefined || call.failure !== undefined ? this.#endCall(call) : this.#pull(call);
    const ended = this.#ended;
    if (ended?.out === true) {
      this.#ended = undefined;
      return closeQuietly(ended.iterator)
        .then(() => this.#steps.next(undefined))
        .then(this.#onSteps, this.#onStepsError);
    }
    return this.#steps.next(undefined).then(this.#onSteps, this.#onStepsError);
  };

  /** The consumer is leaving: the model's stream is closed first (as `for await` would close it), then the steps' `finally` blocks run. */
  readonly #return = (): Promise<IteratorResult<AgentEvent, void>> => {
    const open = this.#leave();
    return closeQuietly(open)
      .then(() => this.#steps.return(undefined))
      .then(this.#onSteps, this.#onStepsError);
  };

  #throw(error: unknown): Promise<IteratorResult<AgentEvent, void>> {
    const call = this.#call;
    // Only the run's `message-start` has gone out of this call: `steps` had not counted the run as
    // started yet when it sent that one alone, so the error is thrown back, not sent as an event.
    if (call !== undefined && this.#at === 1 && this.#out[0]?.type === 'message-start') call.unannounce();
    const open = this.#leave();
    return closeQuietly(open)
      .then(() => this.#steps.throw(error))
      .then(this.#onSteps, this.#onStepsError);
  }

  /** Drops what was not handed out; returns the model's iterator still open, if any. */
  #leave(): PullIterator<AgentEvent> | undefined {
    this.#busy = true;
    this.#out.length = 0;
    this.#at = 0;
    const open = this.#call?.iterator ?? this.#ended?.iterator;
    this.#call = undefined;
    this.#ended = undefined;
    return open;
  }

  #shift(): IteratorYieldResult<AgentEvent> {
    const value = this.#out[this.#at++] as AgentEvent;
    if (this.#at === this.#out.length) {
      this.#out.length = 0;
      this.#at = 0;
    }
    return { value, done: false };
  }

  #pull(call: ModelCall): Promise<IteratorResult<AgentEvent, void>> {
    let next: Promise<IteratorResult<AgentEvent>>;
    try {
      next = Promise.resolve(call.iterator.next());
    } catch (error) {
      next = Promise.reject(error);
    }
    return next.then(this.#onModel, this.#onModelError);
  }

  readonly #onSteps = (result: IteratorResult<AgentEvent | ModelCall, void>): IteratorResult<AgentEvent, void> | Promise<IteratorResult<AgentEvent, void>> => {
    if (result.done === true) {
      this.#busy = false;
      this.#done = true;
      return { value: undefined, done: true };
    }
    const value = result.value;
    if (value instanceof ModelCall) {
      this.#call = value;
      this.#hold();
      return this.#pull(value);
    }
    if (this.#ended !== undefined && value === this.#ended.terminal) this.#ended.out = true;
    this.#busy = false;
    return result as IteratorYieldResult<AgentEvent>;
  };

  readonly #onStepsError = (error: unknown): never => {
    this.#busy = false;
    this.#done = true;
    throw error;
  };

  readonly #onModel = (result: IteratorResult<AgentEvent>): IteratorResult<AgentEvent, void> | Promise<IteratorResult<AgentEvent, void>> => {
    const call = this.#call as ModelCall;
    let event: AgentEvent;
    try {
      if (typeof result !== 'object' || result === null) throw new TypeError(`The model's iterator returned ${String(result)}, not an iterator result.`);
      if (result.done) {
        this.#call = undefined;
        this.#hold();
        return this.#steps.next(undefined).then(this.#onSteps, this.#onStepsError);
      }
      event = result.value;
    } catch (error) {
      return this.#onModelError(error);
    }
    try {
      call.map(event, this.#out);
    } catch (error) {
      // As an exception in a `for await` body: what was mapped before it goes out, then the
      // model's stream is closed and `steps` handles the error.
      call.failure = { error };
    }
    if (this.#at < this.#out.length) {
      this.#busy = false;
      return this.#shift();
    }
    // Nothing to hand out for this one (the model's usage or finish, kept for the step's end).
    this.#hold();
    return call.terminal === undefined && call.failure === undefined ? this.#pull(call) : this.#endCall(call);
  };

  /** The model's iterator failed: its stream is over, and `steps` handles the error. */
  readonly #onModelError = (error: unknown): Promise<IteratorResult<AgentEvent, void>> => {
    this.#call = undefined;
    this.#hold();
    return this.#steps.throw(error).then(this.#onSteps, this.#onStepsError);
  };

  /**
   * Every event before the model's `error` or `abort`, or before an event that could not be
   * handled, is out. A terminal event goes to `steps`, which sends it (after the usage so far);
   * the model's stream is closed once it is out. An error closes the stream first, then `steps`
   * handles it.
   */
  #endCall(call: ModelCall): Promise<IteratorResult<AgentEvent, void>> {
    this.#call = undefined;
    const { terminal, failure } = call;
    if (failure !== undefined) {
      const rethrow = (): Promise<IteratorResult<AgentEvent | ModelCall, void>> => this.#steps.throw(failure.error);
      return closeIterator(call.iterator).then(rethrow, rethrow).then(this.#onSteps, this.#onStepsError);
    }
    this.#ended = { iterator: call.iterator, terminal: terminal as Terminal, out: false };
    return this.#steps.next(terminal).then(this.#onSteps, this.#onStepsError);
  }
}

/**
 * Runs the agent: calls the model with the conversation and the tools, streams its events, runs
 * the tools it calls and calls it again with the results, until it answers without tools, calls a
 * client tool, or `maxSteps` model calls were made.
 *
 * The stream: the first call's `message-start`, then per step `step-start`, the model's events
 * (text, reasoning, `tool-call-start` / `tool-call-delta` / `tool-call`), `step-finish` (the
 * model's own `finish`), then the step's tool events as they happen (`progress` with the call's
 * id, `source`, `data`, then `tool-result` or `tool-error` for each call); at the end one `usage`
 * (summed over the steps) and exactly one terminal event: `finish`, `error` (a model failure) or
 * `abort` (`signal` aborted). A tool that throws, times out or gets invalid input is a `tool-error`,
 * sent back to the model as an error result, and the run goes on; a tool the model names that
 * nobody offers is one too. The results go back as an assistant message with the step's text,
 * reasoning and tool-call parts, then a `tool` message with one tool-result part per call, which
 * each provider converts to its own format (OpenAI `tool` messages, Anthropic `tool_result` blocks).
 *
 * A model failure before anything was streamed is thrown from the first `next()`, so a server can
 * still answer with an HTTP status.
 * @param options - provider, model, messages, tools, signal, limits
 * @returns the agent event stream (read it once)
 * @throws RangeError at the call when `maxSteps` or `toolTimeoutMs` is invalid
 * @example
 * ```ts
 * for await (const event of runAgent({ provider: localProvider, model: 'local', messages, tools: createBuiltinTools(), signal })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.delta);
 * }
 * ```
 */
export function runAgent(options: RunAgentOptions): AsyncGenerator<AgentEvent, void, undefined> {
  if (typeof options?.provider !== 'function') throw new TypeError(`Expected \`provider\` to be a function, got ${typeof options?.provider}.`);
  if (!Array.isArray(options.messages)) throw new TypeError(`Expected \`messages\` to be an array, got ${typeof options.messages}.`);
  const maxSteps = resolveMaxSteps(options);
  const toolTimeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  if (!(toolTimeoutMs > 0)) throw new RangeError(`Expected \`toolTimeoutMs\` to be a number > 0, got ${String(toolTimeoutMs)}.`);
  const clientTools = new Map((options.clientTools ?? []).map((tool) => [tool.name, tool]));
  const serverTools = new Map<string, AnyAgentTool>();
  for (const tool of options.tools ?? []) if (!clientTools.has(tool.name)) serverTools.set(tool.name, tool);
  const definitions: ToolDefinition[] = [
    ...[...serverTools.values()].map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema })),
    ...clientTools.values(),
  ];
  return new AgentStream(steps({ ...options, maxSteps, toolTimeoutMs }, options.signal, serverTools, clientTools, definitions));
}

type RunOptions = RunAgentOptions & { maxSteps: number; toolTimeoutMs: number };

/** Where {@link steps} starts when a run is taken over: this step, whose `step-start` (the seam) was written. */
interface StepsFrom {
  step: number;
  /** Whether this step's `step-start` was written already (the seam). */
  seamed: boolean;
  /** Whether this step's `step-start` is the seam (marked `takeover`), written when the model answers, with `message-start` first. */
  marked?: boolean;
  continuation?: { text: string; reasoning?: string };
}

/**
 * The reason a run's own signal is aborted with when the run is over: one for every run, made on
 * first use (a DOMException captures a stack trace when made: 6–8 µs on this machine, for every run otherwise).
 */
let runClosed: DOMException | undefined;

/**
 * The signal of one run: aborted by the caller's signal (with its reason), or by `close()` when the
 * run is over or its consumer left early (`return()`, a `break`), so the model request and the
 * running tools stop either way. A plain controller with one listener on the caller's signal, not
 * `AbortSignal.any`: the loop and the model read `aborted` on every event, and a composite signal
 * refreshes itself on each read.
 */
function openRunSignal(callerSignal: AbortSignal | undefined): { signal: AbortSignal; close: () => void } {
  const stop = new AbortController();
  const forward = (): void => stop.abort(callerSignal?.reason);
  if (callerSignal?.aborted === true) forward();
  else callerSignal?.addEventListener('abort', forward, { once: true });
  return {
    signal: stop.signal,
    close: () => {
      callerSignal?.removeEventListener('abort', forward);
      stop.abort((runClosed ??= new DOMException('The agent run was closed.', 'AbortError')));
    },
  };
}

/** Runs `body` with the run's signal (see {@link openRunSignal}); the resume path's wrapper. */
async function* withRunSignal(
  callerSignal: AbortSignal | undefined,
  body: (signal: AbortSignal) => Steps,
): Steps {
  const run = openRunSignal(callerSignal);
  try {
    yield* body(run.signal);
  } finally {
    run.close();
  }
}

async function* steps(
  options: RunOptions,
  callerSignal: AbortSignal | undefined,
  serverTools: ReadonlyMap<string, AnyAgentTool>,
  clientTools: ReadonlyMap<string, ToolDefinition>,
  definitions: ToolDefinition[],
  from?: StepsFrom,
): Steps {
  // The run's own signal: aborted by the caller's, and when the run ends or its consumer leaves.
  const run = openRunSignal(callerSignal);
  const { signal } = run;
  try {
    const { provider } = options;
    const messages = [...options.messages];
    let usage: Usage | undefined;
    // Whether the run has sent anything: a model failure before that is thrown from the first `next()`.
    const progress = { yielded: false };
    let finishReason: FinishReason = 'stop';
    let rawFinishReason: string | null | undefined;
    const end = (): AgentEvent[] => {
      const tail: AgentEvent[] = [];
      if (usage !== undefined) tail.push({ type: 'usage', ...usage });
      tail.push({
        type: 'finish',
        finishReason,
        ...(rawFinishReason === undefined ? {} : { rawFinishReason }),
        ...(usage === undefined ? {} : { usage }),
      });
      return tail;
    };

    const decided = from === undefined ? pendingCalls(messages, options.decidedApprovals) : [];
    if (decided.length > 0) {
      // The model sees the calls as they run: with their logged input, not the client's copy.
      replaceDecidedCalls(messages, decided);
      // The calls a client answered after the run that asked had ended: they run (or are denied)
      // first, and the model goes on from their results.
      progress.yielded = true;
      const parts = yield* runCalls(decided, { options, signal, serverTools, definitions });
      if (signal.aborted) {
        yield { type: 'abort', reason: abortReason(signal) };
        return;
      }
      if (parts.length > 0) messages.push({ role: 'tool', content: parts });
    }

    for (let step = from?.step ?? 1; ; step++) {
      const request: ChatRequest = { model: options.model, messages: [...messages] };
      // A run taken over: its first step was started (the seam's `step-start`) and may continue text.
      const seamed = from !== undefined && from.seamed && step === from.step;
      if (seamed) progress.yielded = true;
      if (seamed && from.continuation !== undefined) request.continuation = from.continuation;
      if (definitions.length > 0) request.tools = definitions;
      if (options.toolChoice !== undefined) request.toolChoice = options.toolChoice;
      if (options.maxOutputTokens !== undefined) request.maxOutputTokens = options.maxOutputTokens;
      if (options.temperature !== undefined) request.temperature = options.temperature;
      if (options.providerOptions !== undefined) request.providerOptions = options.providerOptions;

      const result = new StepMessage();
      // A continued step: what the old producer wrote is part of the message that goes back to the model.
      if (seamed && from.continuation !== undefined) result.resume(from.continuation);
      let call: ModelCall | undefined;
      try {
        signal.throwIfAborted();
        // openSource: the provider's stream as the engine reads any source (a JavaScript caller's sync iterable too).
        call = new ModelCall(openSource(provider(request, { signal })), result, {
          step,
          progress,
          announce: step === 1 && (from === undefined || from.marked === true),
          seamed,
          marked: from?.marked === true && step === from.step,
        });
        // The model's events go out from AgentStream, straight from the provider; this generator
        // resumes when the call is over, with the model's `error` or `abort` if it sent one.
        const terminal = yield call;
        if (terminal !== undefined) {
          if (result.usage !== undefined) usage = addUsage(usage, result.usage);
          if (usage !== undefined) yield { type: 'usage', ...usage };
          yield terminal;
          return;
        }
      } catch (error) {
        if (signal.aborted) {
          yield { type: 'abort', reason: abortReason(signal) };
          return;
        }
        if (!progress.yielded) throw error;
        yield toFailure(error);
        return;
      }
      if (result.finish === undefined) {
        if (call?.started !== true && !seamed) yield { type: 'step-start', step, ...(from?.marked === true && step === from.step ? { takeover: true } : {}) };
        yield toFailure(new AgentError('agent_step_incomplete', `The model's stream ended without \`finish\` in step ${step}.`));
        return;
      }
      if (result.usage !== undefined) usage = addUsage(usage, result.usage);
      finishReason = result.finish.finishReason;
      rawFinishReason = result.finish.rawFinishReason;
      yield { type: 'step-finish', step, finishReason };
      if (result.calls.length === 0) {
        yield* end();
        return;
      }

      // Run the server's tools of this step in parallel; their events reach the client as they happen.
      messages.push(result.toMessage());
      const clientCalled = result.calls.some((call) => clientTools.has(call.toolName));
      const parts = yield* runCalls(
        result.calls.filter((call) => !clientTools.has(call.toolName)),
        { options, signal, serverTools, definitions },
      );
      if (signal.aborted) {
        yield { type: 'abort', reason: abortReason(signal) };
        return;
      }
      if (parts.length > 0) messages.push({ role: 'tool', content: parts });
      if (clientCalled || step >= options.maxSteps) {
        finishReason = 'tool-calls';
        yield* end();
        return;
      }
    }
  } finally {
    run.close();
  }
}

interface CallContext {
  options: RunOptions;
  signal: AbortSignal;
  serverTools: ReadonlyMap<string, AnyAgentTool>;
  definitions: readonly ToolDefinition[];
}

/** A call to run, with the decision already taken on it when there is one. */
type PlannedCall = ToolCallEvent & { decided?: DecidedApproval };

/**
 * The calls of the conversation's last assistant message that have no result and a decision in
 * `decided` (calls without a decision are left alone).
 */
function pendingCalls(messages: readonly ChatMessage[], decided: readonly DecidedApproval[] | undefined): PlannedCall[] {
  if (decided === undefined || decided.length === 0) return [];
  let index = messages.length - 1;
  while (index >= 0 && messages[index]?.role === 'tool') index--;
  const assistant = messages[index];
  if (assistant?.role !== 'assistant' || typeof assistant.content === 'string') return [];
  const answered = new Set<string>();
  for (const message of messages.slice(index + 1)) {
    if (typeof message.content !== 'string') for (const part of message.content) if (part.type === 'tool-result') answered.add(part.toolCallId);
  }
  const byCall = new Map(decided.map((decision) => [decision.toolCallId, decision]));
  const calls: PlannedCall[] = [];
  for (const part of assistant.content) {
    if (part.type !== 'tool-call' || answered.has(part.toolCallId)) continue;
    const decision = byCall.get(part.toolCallId);
    if (decision === undefined) continue;
    // A logged call runs as it was asked about, never as the messages (a client's copy) say.
    const { toolName, input } = decision.call ?? part;
    calls.push({ type: 'tool-call', toolCallId: part.toolCallId, toolName, input, decided: decision });
  }
  return calls;
}

/** Puts the planned calls' tool names and inputs into the last assistant message (on a copy of it). */
function replaceDecidedCalls(messages: ChatMessage[], calls: readonly PlannedCall[]): void {
  let index = messages.length - 1;
  while (index >= 0 && messages[index]?.role === 'tool') index--;
  const assistant = messages[index];
  if (assistant === undefined || typeof assistant.content === 'string') return;
  const byCall = new Map(calls.map((call) => [call.toolCallId, call]));
  messages[index] = {
    ...assistant,
    content: assistant.content.map((part) => {
      const call = part.type === 'tool-call' ? byCall.get(part.toolCallId) : undefined;
      return call === undefined ? part : { ...part, toolName: call.toolName, input: call.input };
    }),
  } as ChatMessage;
}

/**
 * Runs server tool calls in parallel (each asking for approval first when its tool needs it),
 * yields their events as they happen, and returns the tool-result parts for the model.
 */
async function* runCalls(calls: readonly PlannedCall[], context: CallContext): AsyncGenerator<AgentEvent, MessagePart[], unknown> {
  const { options, signal, serverTools, definitions } = context;
  const channel = createEventChannel<AgentEvent>();
  const outcomes = new Map<string, ToolOutcome | { denied: string | undefined }>();
  const tasks: Promise<void>[] = [];
  for (const call of calls) {
    const tool = serverTools.get(call.toolName);
    const task = async (): Promise<void> => {
      if (tool === undefined) {
        outcomes.set(call.toolCallId, { ok: false, message: `There is no tool named \`${call.toolName}\`. Offered: ${definitions.map((d) => `\`${d.name}\``).join(', ') || 'none'}.` });
      } else {
        let decision: Awaited<ReturnType<typeof decideApproval>>;
        try {
          decision = await decideApproval(tool, call, { gate: options.approvals, decided: call.decided, signal, emit: channel.push });
        } catch (error) {
          if (signal.aborted) throw error;
          // The gate failed (the store is unreachable): the call never runs unapproved.
          decision = { approved: false, reason: `the approval could not be asked for: ${error instanceof Error ? error.message : String(error)}` };
        }
        if (decision !== undefined && !decision.approved) {
          outcomes.set(call.toolCallId, { denied: decision.reason });
          channel.push({ type: 'tool-output-denied', toolCallId: call.toolCallId, toolName: call.toolName, ...(decision.reason === undefined ? {} : { reason: decision.reason }) });
          return;
        }
        outcomes.set(call.toolCallId, await runTool(tool, { toolCallId: call.toolCallId, input: call.input, signal, timeoutMs: options.toolTimeoutMs, emit: channel.push, owner: options.owner, subject: options.subject }));
      }
      const outcome = outcomes.get(call.toolCallId) as ToolOutcome;
      channel.push(
        outcome.ok
          ? { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: outcome.output }
          : { type: 'tool-error', toolCallId: call.toolCallId, toolName: call.toolName, message: outcome.message },
      );
    };
    tasks.push(task());
  }
  const settled = Promise.allSettled(tasks).finally(() => channel.close());
  yield* channel;
  await settled;
  const parts: MessagePart[] = [];
  for (const call of calls) {
    const outcome = outcomes.get(call.toolCallId);
    if (outcome === undefined) continue;
    if ('denied' in outcome) {
      parts.push({ type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: deniedOutput(call.toolName, outcome.denied), isError: true });
    } else {
      parts.push(
        outcome.ok
          ? { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: outcome.output }
          : { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: outcome.message, isError: true },
      );
    }
  }
  return parts;
}

// ---- takeover: continuing a run from its log ------------------------------------------------

/** What a tool that was running when its producer died gets instead of its result, when it is not idempotent. */
export const INTERRUPTED_MESSAGE = 'interrupted: the server running this tool stopped before it finished, and it is not safe to run again';

/**
 * Where a run stood when its producer stopped, rebuilt from the events it wrote (see
 * {@link rebuildAgentState}); {@link resumeAgent} continues from it.
 */
export interface AgentResumeState {
  /** The conversation as the next model call must see it: the request's messages and every finished step's messages. */
  messages: ChatMessage[];
  /** The step in progress (1 when none had started). */
  step: number;
  /** Whether the log has the run's `message-start` (false: the producer died before the model's first event). */
  messageStarted?: boolean;
  /**
   * `model`: the step's model call was unfinished; `text`/`reasoning` is what it had written, and
   * `opened` whether it had written any part at all (then the provider continues rather than restarts).
   * `tools`: the model call finished (`step-finish` written) asking for `calls`; `results` holds the
   * results written so far (by call id). `end`: the last step finished without tools; only the
   * terminal events are missing.
   */
  phase:
    | { kind: 'model'; text: string; reasoning: string; opened?: boolean }
    | { kind: 'tools'; assistant: ChatMessage; calls: ToolCallEvent[]; results: Map<string, Extract<MessagePart, { type: 'tool-result' }>> }
    | { kind: 'end'; finishReason: FinishReason };
}

/**
 * Rebuilds where a run stood from the request's messages and the events its producer wrote: finished
 * steps become assistant and tool messages as the loop would have sent them; the unfinished step
 * keeps its text and reasoning (tool calls the model had not finished asking for are dropped: tools
 * only run after the step's `step-finish`).
 * @param messages - the run's request messages
 * @param events - every event in the log, in order (no terminal one)
 * @returns the state to give {@link resumeAgent}
 */
export function rebuildAgentState(messages: readonly ChatMessage[], events: readonly AgentEvent[]): AgentResumeState {
  const conversation = [...messages];
  let step = 1;
  let current = new StepMessage();
  let stepFinish: FinishReason | undefined;
  let text = '';
  let reasoning = '';
  /** Whether the unfinished step had written any part (opened, maybe without a delta yet). */
  let opened = false;
  let results = new Map<string, Extract<MessagePart, { type: 'tool-result' }>>();
  const close = (): void => {
    // The previous step is over: its messages join the conversation as the loop sent them.
    if (stepFinish === undefined || current.calls.length === 0) return;
    conversation.push(current.toMessage());
    const parts = current.calls.flatMap((call) => {
      const result = results.get(call.toolCallId);
      return result === undefined ? [] : [result];
    });
    if (parts.length > 0) conversation.push({ role: 'tool', content: parts });
  };
  for (const event of events) {
    switch (event.type) {
      case 'step-start':
        if (event.takeover === true && event.step === step) {
          // An earlier seam: the same step goes on, its open parts continued by the next ones.
          current.carryOver();
          break;
        }
        close();
        step = event.step;
        current = new StepMessage();
        stepFinish = undefined;
        text = '';
        reasoning = '';
        opened = false;
        results = new Map();
        break;
      case 'step-finish':
        stepFinish = event.finishReason;
        break;
      case 'text-delta':
        if (stepFinish === undefined) text += event.delta;
        current.add(event);
        break;
      case 'reasoning-delta':
        if (stepFinish === undefined) reasoning += event.delta;
        current.add(event);
        break;
      case 'tool-result':
        results.set(event.toolCallId, { type: 'tool-result', toolCallId: event.toolCallId, toolName: event.toolName, output: event.output });
        break;
      case 'tool-error':
        results.set(event.toolCallId, { type: 'tool-result', toolCallId: event.toolCallId, toolName: event.toolName, output: event.message, isError: true });
        break;
      case 'tool-output-denied':
        // A denied call is settled: the model was told it was denied, and a takeover never runs it.
        results.set(event.toolCallId, { type: 'tool-result', toolCallId: event.toolCallId, toolName: event.toolName, output: deniedOutput(event.toolName, event.reason), isError: true });
        break;
      default:
        if (stepFinish === undefined) {
          if (event.type === 'text-start' || event.type === 'reasoning-start' || event.type === 'tool-call-start') opened = true;
          current.add(event);
        }
    }
  }
  const messageStarted = events.some((event) => event.type === 'message-start');
  if (stepFinish === undefined) {
    return { messages: conversation, step, messageStarted, phase: { kind: 'model', text, reasoning, opened: opened || text !== '' || reasoning !== '' } };
  }
  if (current.calls.length === 0) return { messages: conversation, step, phase: { kind: 'end', finishReason: stepFinish } };
  return { messages: conversation, step, phase: { kind: 'tools', assistant: current.toMessage(), calls: current.calls, results } };
}

/** Options of {@link resumeAgent}: those of {@link runAgent} (whose `messages` are ignored) and the state. */
export interface ResumeAgentOptions extends RunAgentOptions {
  state: AgentResumeState;
}

/**
 * Continues a run another producer left unfinished, from the state {@link rebuildAgentState} made of
 * its log. It first writes one `step-start` with `takeover: true` (the seam) for the step in
 * progress, then: an unfinished model call is continued (the provider is given the text written so
 * far as `continuation`); a step waiting on tools gets the missing results — a tool that was running
 * is run again when it is `idempotent` (and needs no approval), else it ends as `tool-error`
 * "interrupted" — and the loop
 * goes on with the next step. Completed tool calls are never run again. Usage covers the model
 * calls made after the seam only.
 * @param options - as {@link runAgent}, plus the state
 * @returns the events that follow the log's last one
 */
export function resumeAgent(options: ResumeAgentOptions): AsyncGenerator<AgentEvent, void, undefined> {
  const { state } = options;
  if (typeof options?.provider !== 'function') throw new TypeError(`Expected \`provider\` to be a function, got ${typeof options?.provider}.`);
  if (!Array.isArray(state?.messages)) throw new TypeError(`Expected \`state.messages\` to be an array, got ${typeof state?.messages}.`);
  const maxSteps = resolveMaxSteps(options);
  const toolTimeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const clientTools = new Map((options.clientTools ?? []).map((tool) => [tool.name, tool]));
  const serverTools = new Map<string, AnyAgentTool>();
  for (const tool of options.tools ?? []) if (!clientTools.has(tool.name)) serverTools.set(tool.name, tool);
  const definitions: ToolDefinition[] = [
    ...[...serverTools.values()].map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema })),
    ...clientTools.values(),
  ];
  return new AgentStream(resumeLoop({ ...options, messages: state.messages, maxSteps, toolTimeoutMs }, state, serverTools, clientTools, definitions));
}

async function* resumeLoop(
  options: RunOptions,
  state: AgentResumeState,
  serverTools: ReadonlyMap<string, AnyAgentTool>,
  clientTools: ReadonlyMap<string, ToolDefinition>,
  definitions: ToolDefinition[],
): Steps {
  yield* withRunSignal(options.signal, (signal) => resumeSteps(options, state, signal, serverTools, clientTools, definitions));
}

async function* resumeSteps(
  options: RunOptions,
  state: AgentResumeState,
  signal: AbortSignal,
  serverTools: ReadonlyMap<string, AnyAgentTool>,
  clientTools: ReadonlyMap<string, ToolDefinition>,
  definitions: ToolDefinition[],
): Steps {
  const { phase } = state;
  if (phase.kind === 'end') {
    yield { type: 'step-start', step: state.step, takeover: true };
    yield { type: 'finish', finishReason: phase.finishReason };
    return;
  }
  if (phase.kind === 'model' && state.step === 1 && state.messageStarted === false && phase.opened !== true) {
    // Nothing was written: the run starts as it would have, its first step-start marked as the seam.
    yield* steps(options, signal, serverTools, clientTools, definitions, { step: 1, seamed: false, marked: true });
    return;
  }
  if (phase.kind === 'model') {
    yield { type: 'step-start', step: state.step, takeover: true };
    const written = phase.opened === true || phase.text !== '' || phase.reasoning !== '';
    const continuation = written ? { text: phase.text, ...(phase.reasoning === '' ? {} : { reasoning: phase.reasoning }) } : undefined;
    yield* steps(options, signal, serverTools, clientTools, definitions, { step: state.step, seamed: true, ...(continuation ? { continuation } : {}) });
    return;
  }
  // The step's model call finished; some of its tools may not have.
  const pending = phase.calls.filter((call) => !phase.results.has(call.toolCallId) && !clientTools.has(call.toolName));
  const seamNow = pending.length > 0;
  if (seamNow) yield { type: 'step-start', step: state.step, takeover: true };
  const channel = createEventChannel<AgentEvent>();
  const results = new Map(phase.results);
  const tasks = pending.map(async (call) => {
    const tool = serverTools.get(call.toolName);
    let outcome: ToolOutcome;
    if (tool === undefined) outcome = { ok: false, message: `There is no tool named \`${call.toolName}\`.` };
    // Not idempotent, or gated by a person's approval (never run again without one): interrupted.
    else if (tool.idempotent !== true || (tool.needsApproval !== undefined && tool.needsApproval !== false)) outcome = { ok: false, message: INTERRUPTED_MESSAGE };
    else outcome = await runTool(tool, { toolCallId: call.toolCallId, input: call.input, signal, timeoutMs: options.toolTimeoutMs, emit: channel.push, owner: options.owner, subject: options.subject });
    results.set(
      call.toolCallId,
      outcome.ok
        ? { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: outcome.output }
        : { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: outcome.message, isError: true },
    );
    channel.push(
      outcome.ok
        ? { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: outcome.output }
        : { type: 'tool-error', toolCallId: call.toolCallId, toolName: call.toolName, message: outcome.message },
    );
  });
  const settled = Promise.allSettled(tasks).finally(() => channel.close());
  yield* channel;
  await settled;
  if (signal.aborted) {
    yield { type: 'abort', reason: abortReason(signal) };
    return;
  }
  const messages = [...state.messages, phase.assistant];
  const parts = phase.calls.flatMap((call) => {
    const result = results.get(call.toolCallId);
    return result === undefined ? [] : [result];
  });
  if (parts.length > 0) messages.push({ role: 'tool', content: parts });
  if (phase.calls.some((call) => clientTools.has(call.toolName)) || state.step >= options.maxSteps) {
    if (!seamNow) yield { type: 'step-start', step: state.step, takeover: true };
    yield { type: 'finish', finishReason: 'tool-calls' };
    return;
  }
  const next = state.step + 1;
  if (!seamNow) yield { type: 'step-start', step: next, takeover: true };
  yield* steps({ ...options, messages }, signal, serverTools, clientTools, definitions, { step: next, seamed: !seamNow });
}
