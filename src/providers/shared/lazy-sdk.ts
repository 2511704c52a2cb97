/**
 * A vendor SDK loaded on a provider's first call, not when `sluice/providers` is imported: a
 * project that uses only the local model, or only one vendor, installs only what it calls. Once
 * loaded, calls go straight to the stream (no wrapper per event); before that, the first call's
 * stream waits for the import, and a missing SDK is that stream's error, naming the package
 * (`MissingDependencyError`, code `missing_dependency`).
 *
 * @module
 */
import type { AgentEvent } from '../../protocol/types.ts';

/** An SDK module, loaded once. */
export interface LazySdk<M> {
  /**
   * The stream of one call: `open(module)` at once when the SDK is loaded, else after loading it.
   * @param open - makes the call's stream with the module
   * @returns the stream
   */
  stream(open: (module: M) => AsyncIterable<AgentEvent>): AsyncIterable<AgentEvent>;
}

/**
 * @param load - imports the SDK (through `importOptional`, so a missing one names the package)
 * @returns the lazily loaded SDK
 */
export function lazySdk<M>(load: () => Promise<M>): LazySdk<M> {
  let loaded: M | undefined;
  let loading: Promise<M> | undefined;
  const loadOnce = (): Promise<M> =>
    (loading ??= load().then(
      (module) => (loaded = module),
      (error: unknown) => {
        // Installed later (a long-running dev server): the next call tries again.
        loading = undefined;
        throw error;
      },
    ));
  return {
    stream(open) {
      if (loaded !== undefined) return open(loaded);
      return {
        [Symbol.asyncIterator]() {
          let inner: AsyncIterator<AgentEvent> | undefined;
          let closed = false;
          return {
            next: () =>
              inner !== undefined
                ? inner.next()
                : closed
                  ? Promise.resolve({ done: true, value: undefined })
                  : loadOnce().then((module) => {
                      inner ??= open(module)[Symbol.asyncIterator]();
                      return closed ? { done: true as const, value: undefined } : inner.next();
                    }),
            return: () => {
              closed = true;
              return inner?.return?.() ?? Promise.resolve({ done: true, value: undefined });
            },
          };
        },
      };
    },
  };
}
