/**
 * Runs: generations that outlive their connections. A run owns its abort controller and appends
 * every event it produces, its terminal one included, to the stream store through its
 * `StreamWriter`; HTTP responses only ever follow the store (see `follow-stream.ts`). A run's
 * upstream is aborted by a stop request from any instance, by the detach grace running out (no
 * follower anywhere for that long), by the shutdown drain timing out, or by the store refusing an
 * append (the lease was lost, or the backend is unreachable).
 *
 * Followers are counted here as well as in the store: a follower on this instance counts from the
 * moment its response exists (a synchronous count, whatever the store's latency), and the request
 * that starts a run holds it as followed until its response takes over, so no check ever sees a
 * run that is about to be followed as abandoned. The store's count covers followers on other instances.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { isSluiceError, toErrorResponse } from '../../core/errors.ts';
import type { AgentEvent, ErrorEvent } from '../../protocol/types.ts';
import { isTerminalEvent } from '../../protocol/types.ts';
import { isStoreError } from '../../store/errors.ts';
import { hiddenFailureOf, publicErrorEvent, publicMessageOf, RunFailedError, type HiddenFailure } from '../public-errors.ts';
import type { StreamStore, StreamWriter, TakeoverClaim } from '../../store/types.ts';
import { adoptClaim, handOverRuns, type TakeoverOptions } from './takeover.ts';

/** Why a run was stopped from outside: the `reason` of its `abort` event. */
export const ABORT_REASONS = {
  /** `DELETE /v1/streams/:id` (the stop button), from any instance. */
  stopped: 'stopped',
  /** No follower was attached for the whole detach grace. */
  detached: 'detached',
  /** The instance shut down and the run did not finish within the drain time. */
  shutdown: 'shutdown',
} as const;

/** Options of {@link createRunManager}. */
export interface RunManagerOptions {
  store: StreamStore;
  /** Milliseconds a run goes on with no follower attached anywhere before it is aborted; 0 aborts at once. @defaultValue 30000 */
  detachGraceMs?: number;
  /** Called when a run starts and ends (the `sluice_active_streams` gauge). */
  onActiveChange?: (active: number) => void;
  /**
   * Reports failures of the store that end a run, and once per run that ends with a failure whose
   * detail its clients do not get (a provider's, an internal error's) a {@link RunFailedError}
   * with that detail. @defaultValue console.error
   */
  onError?: (error: unknown) => void;
  /**
   * Called when a run starts; the returned function is told every event the run appended to its
   * stream, the terminal one included (the metrics: time to first token, tokens, errors).
   */
  observe?: (run: { id: string; kind: string }) => ((event: AgentEvent) => void) | undefined;
  /**
   * Taking runs over (see `takeover.ts`): with it, runs started with a `request` keep it with their
   * log, this instance continues runs whose producer was lost, and `drain` hands its runs over
   * instead of cutting them (with a store shared between instances).
   */
  takeover?: TakeoverOptions;
}

/** Options of {@link RunManager.start}. */
export interface StartRunOptions {
  /** The run's events, started with its signal. The lead's agent loop plugs in here. */
  source: (signal: AbortSignal) => AsyncIterable<AgentEvent>;
  /** The owner (a hash of the API key) stored with the stream. */
  owner?: string | undefined;
  /** @defaultValue `'chat'` */
  kind?: string;
  meta?: Record<string, string>;
  /**
   * Whether the detach grace applies: false for runs nobody is expected to follow (jobs).
   * @defaultValue true
   */
  detachable?: boolean;
  /** This run's detach grace, when it differs from the manager's (0 for clients that cannot resume). */
  detachGraceMs?: number;
  /** The stream id. @defaultValue a random UUID v4 */
  id?: string;
  /**
   * The run's request (JSON, no secrets), kept with its log so that another instance can take the
   * run over (with the manager's `takeover` option); the takeover's `resume` rebuilds the source from it.
   */
  request?: unknown;
}

/** A run started by {@link RunManager.start}. */
export interface Run {
  /** The stream id: a random UUID v4. */
  readonly id: string;
  /** Settles when the run has appended its terminal event, or given up on the store. */
  readonly done: Promise<void>;
  /** Stops the run: its upstream is aborted and the stream ends with `abort` and this reason. */
  abort(reason: string): void;
}

/**
 * A run just started by {@link RunManager.start}. The request that started it counts as its
 * follower (here and in the store) until `release` is called: hand `release` to the response
 * that follows the run (it calls it when it ends), or call it when nobody will follow.
 */
export interface StartedRun extends Run {
  /** Ends the starting request's hold on the run; idempotent. */
  readonly release: () => void;
}

/** Starts and tracks the runs of one instance. */
export interface RunManager {
  /** Runs generating on this instance now. */
  readonly active: number;
  /** Whether new runs are refused (the instance is shutting down). */
  readonly draining: boolean;
  /**
   * Creates the stream in the store and starts producing into it. The run is held as followed
   * until the returned run's `release` is called (see {@link StartedRun}).
   */
  start(options: StartRunOptions): Promise<StartedRun>;
  /**
   * Counts a follower of stream `id` on this instance, from now until the returned function is
   * called (idempotent): in the store (for every instance's detach grace) and, when the run is
   * here, locally, at once. When the last follower leaves a run with a grace of 0, it is checked at once.
   */
  attach(id: string): () => void;
  /**
   * Refuses new runs, waits up to `drainMs` for the running ones to finish, aborts the rest with
   * reason `shutdown`, and waits (bounded) for their terminal events.
   */
  drain(drainMs: number): Promise<void>;
}

/** How often the detach grace is checked, at most and at least. */
const MAX_CHECK_INTERVAL_MS = 1000;
const MIN_CHECK_INTERVAL_MS = 100;
/** After aborting, how long a run may take to write its terminal event during shutdown. */
const ABORT_SETTLE_MS = 3000;

interface RunState extends Run {
  readonly graceMs: number | undefined;
  readonly writer: StreamWriter;
  /** Whether another instance can take it over (it was started with a request, or taken over itself). */
  readonly resumable: boolean;
  /** Set while draining: the run stops producing and gives its lease up instead of ending its stream. */
  handingOver: boolean;
  /** Followers on this instance now (the starting request's hold included). */
  followers: number;
  /** When the last follower on this instance left (epoch ms). */
  leftAt: number | undefined;
}

/**
 * The `error` event of a failure thrown by a source: a provider's failure with its public message
 * (see `public-errors.ts`), any other error as the server answers it.
 */
function toErrorEvent(error: unknown): ErrorEvent {
  const { status, body } = toErrorResponse(error);
  const retryable = typeof (error as { isRetryable?: unknown } | null)?.isRetryable === 'boolean' ? (error as { isRetryable: boolean }).isRetryable : status >= 500 && !isSluiceError(error);
  const message = publicMessageOf(error) ?? body.error.message;
  return { type: 'error', code: body.error.code, message, retryable, status };
}

/**
 * Creates the run manager of an instance.
 * @param options - the store and the detach grace
 * @returns the manager
 */
export function createRunManager(options: RunManagerOptions): RunManager {
  const { store } = options;
  const graceMs = options.detachGraceMs ?? 30_000;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError(`Expected \`detachGraceMs\` to be a non-negative number, got ${String(graceMs)}.`);
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  const runs = new Map<string, RunState>();
  let draining = false;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  const interval = Math.min(MAX_CHECK_INTERVAL_MS, Math.max(MIN_CHECK_INTERVAL_MS, graceMs / 4));

  const changed = (): void => options.onActiveChange?.(runs.size);

  /**
   * Aborts the runs whose followers have all been gone for their grace: a run with a follower on
   * this instance is followed (no store call); else the store says whether one is attached
   * elsewhere. One store call per run without local followers.
   */
  const checkGrace = async (only?: RunState): Promise<void> => {
    const candidates = only === undefined ? [...runs.values()] : [only];
    await Promise.all(
      candidates.map(async (run) => {
        if (run.graceMs === undefined || run.followers > 0) return;
        let since: number | undefined;
        try {
          since = await store.detachedSince(run.id);
        } catch {
          // The store is unreachable: never abort a generation for that; its appends will tell.
          return;
        }
        // A follower here may have attached while the store answered: the answer is stale then.
        if (since === undefined || run.followers > 0) return;
        // This instance knows when its own last follower left, sooner than the store may.
        const left = Math.max(since, run.leftAt ?? 0);
        if (Date.now() - left >= run.graceMs) run.abort(ABORT_REASONS.detached);
      }),
    );
  };

  /** Counts a follower of `id` here (when the run is here) and in the store; returns its leave. */
  const attach = (id: string): (() => void) => {
    const run = runs.get(id);
    if (run !== undefined) run.followers++;
    const detach = store.attach(id);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      detach();
      if (run === undefined || --run.followers > 0) return;
      run.leftAt = Date.now();
      if (run.graceMs === 0 && runs.get(id) === run) void checkGrace(run);
    };
  };

  const tick = (): void => {
    if (checking) return;
    checking = true;
    checkGrace().finally(() => (checking = false));
  };

  const schedule = (): void => {
    if (timer === undefined && runs.size > 0) {
      timer = setInterval(tick, interval);
      // Never keeps a process alive on its own.
      timer.unref();
    } else if (timer !== undefined && runs.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  async function pump(run: RunState, source: StartRunOptions['source'], controller: AbortController, reason: () => string, observe?: (event: AgentEvent) => void): Promise<void> {
    const { writer } = run;
    let refused = false;
    const refuse = (error: unknown): never => {
      refused = true;
      // The lease is lost (`fenced`: a follower declared this producer gone) or the store is
      // unreachable: nobody can read what we make now, so the upstream stops.
      controller.abort(new DOMException('The stream store refused an append.', 'AbortError'));
      if (!isStoreError(error) || error.code !== 'fenced') onError(error);
      throw error;
    };
    const append = async (event: AgentEvent): Promise<void> => {
      try {
        await writer.append(event);
      } catch (error) {
        refuse(error);
      }
      observe?.(event);
    };
    let ended = false;
    /** The run's failure, logged with the detail its clients do not get. */
    const report = (failure: HiddenFailure): void => onError(new RunFailedError(run.id, failure));
    try {
      for await (const produced of source(controller.signal)) {
        if (controller.signal.aborted) break;
        // A failure is stored (and so sent to every follower, on any instance) as its clients may see it.
        let event = produced;
        if (produced.type === 'error') {
          const shown = publicErrorEvent(produced);
          if (shown.hidden !== undefined) report(shown.hidden);
          event = shown.event;
        }
        // The append of every event is made here, not through `append`: one async call (a promise
        // and its hops) less per event; and none at all with a store that appends at once.
        try {
          if (writer.appendNow !== undefined) writer.appendNow(event);
          else await writer.append(event);
        } catch (error) {
          refuse(error);
        }
        observe?.(event);
        if (isTerminalEvent(event)) {
          ended = true;
          break;
        }
      }
      if (!ended && !refused && !run.handingOver) {
        await append(
          controller.signal.aborted
            ? { type: 'abort', reason: reason() }
            : { type: 'error', code: 'incomplete_stream', message: 'The generation ended without a finish event.', retryable: true },
        );
      }
    } catch (error) {
      if (!refused && !run.handingOver) {
        // A source stopped by our signal throws its abort error: the stream ends with `abort`.
        const failure = controller.signal.aborted ? undefined : hiddenFailureOf(error);
        if (failure !== undefined) report(failure);
        await append(controller.signal.aborted ? { type: 'abort', reason: reason() } : toErrorEvent(error)).catch(() => undefined);
      }
    } finally {
      // The source's iterator was returned by `for await` (its `finally` ran); nothing to abort.
      // A run handed over gives its lease up now that nothing more is appended.
      if (run.handingOver && !ended && !refused && writer.handOver !== undefined) await writer.handOver().catch((error: unknown) => onError(error));
      else await writer.close().catch((error: unknown) => onError(error));
    }
  }

  const manager: RunManager = {
    get active() {
      return runs.size;
    },
    get draining() {
      return draining;
    },

    async start(runOptions) {
      const id = runOptions.id ?? randomUUID();
      const create: Parameters<StreamStore['create']>[0] = { id, kind: runOptions.kind ?? 'chat' };
      if (runOptions.owner !== undefined) create.owner = runOptions.owner;
      if (runOptions.meta !== undefined) create.meta = runOptions.meta;
      const resumable = options.takeover !== undefined && options.takeover.maxTakeovers > 0 && runOptions.request !== undefined;
      if (resumable) {
        create.request = runOptions.request;
        create.maxTakeovers = options.takeover?.maxTakeovers ?? 0;
      }
      const writer = await store.create(create);
      return launch(id, create.kind ?? 'chat', writer, runOptions.source, runOptions.detachable === false ? undefined : (runOptions.detachGraceMs ?? graceMs), resumable);
    },

    attach,

    async drain(drainMs) {
      draining = true;
      stopTakingOver?.();
      const deadline = Date.now() + drainMs;
      const bounded = (promise: Promise<unknown>, ms: number): Promise<unknown> => {
        let timeout: NodeJS.Timeout | undefined;
        return Promise.race([promise, new Promise((resolve) => (timeout = setTimeout(resolve, Math.max(0, ms))))]).finally(() => clearTimeout(timeout));
      };
      // With a shared store, runs that can be taken over go to another instance now instead of
      // being cut at the deadline; the others get the drain time to finish, as before.
      const handing = options.takeover !== undefined ? [...runs.values()].filter((run) => run.resumable && run.writer.handOver !== undefined) : [];
      const handed = handOverRuns(store, handing, deadline, onError).then((count) => {
        if (count > 0) options.takeover?.onOutcome?.('handed_over', count);
      });
      const all = (): Promise<unknown> => Promise.all([...runs.values()].map((run) => run.done));
      await bounded(Promise.all([all(), handed]), deadline - Date.now());
      for (const run of runs.values()) run.abort(ABORT_REASONS.shutdown);
      await bounded(all(), ABORT_SETTLE_MS);
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };

  /** Produces a run into `writer` (a new stream's, or one taken over): tracked here until its stream ends or is handed over. */
  function launch(id: string, kind: string, writer: StreamWriter, source: StartRunOptions['source'], runGraceMs: number | undefined, resumable: boolean): StartedRun {
    const controller = new AbortController();
    let abortReason: string = ABORT_REASONS.stopped;
    const abort = (reason: string): void => {
      if (controller.signal.aborted) return;
      abortReason = reason;
      controller.abort(new DOMException(`The generation was stopped (${reason}).`, 'AbortError'));
    };
    const unsubscribe = writer.onStop((reason) => abort(reason || ABORT_REASONS.stopped));
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const run: RunState = {
      id,
      done,
      abort,
      writer,
      graceMs: runGraceMs,
      resumable,
      handingOver: false,
      followers: 0,
      leftAt: undefined,
    };
    runs.set(id, run);
    // The starting request holds the run as followed until its response takes over.
    const release = run.graceMs === undefined ? () => {} : attach(id);
    changed();
    schedule();
    const observe = options.observe?.({ id, kind });
    void pump(run, source, controller, () => abortReason, observe).finally(() => {
      unsubscribe();
      runs.delete(id);
      changed();
      schedule();
      resolveDone();
    });
    return { id, done, abort, release };
  }

  /** This instance won a lost producer's lease: continue the run from its log, or end it `producer_lost`. */
  function takeOver(claim: TakeoverClaim): void {
    const takeover = options.takeover;
    if (takeover === undefined) return;
    const adopt = async (): Promise<(signal: AbortSignal) => AsyncIterable<AgentEvent>> => {
      // This instance's own producer of the run stalled past its lease and lost it to the claim (its
      // appends are refused now): it stops before the run goes on here.
      const previous = runs.get(claim.info.id);
      if (previous !== undefined) {
        previous.abort(ABORT_REASONS.stopped);
        await previous.done;
      }
      return adoptClaim(store, claim, takeover);
    };
    adopt().then(
      (source) => {
        if (draining) {
          // Claimed as this instance began to drain: another instance has it next.
          void claim.writer.handOver?.().catch((error: unknown) => onError(error));
          return;
        }
        takeover.onOutcome?.('resumed', 1);
        // Nobody here holds it yet: the detach grace counts from now, whoever follows it elsewhere.
        // It can be handed over again (when this instance drains) while it has takeovers left.
        const run = launch(claim.info.id, claim.info.kind, claim.writer, source, claim.info.kind === 'chat' ? graceMs : undefined, claim.takeovers < claim.maxTakeovers);
        run.release();
      },
      (error: unknown) => {
        takeover.onOutcome?.('failed', 1);
        onError(error);
      },
    );
  }
  const stopTakingOver =
    options.takeover !== undefined && store.onTakeover !== undefined
      ? store.onTakeover({ claimed: takeOver, exhausted: () => options.takeover?.onOutcome?.('exhausted', 1) })
      : undefined;
  return manager;
}
