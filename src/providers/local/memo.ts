/**
 * A bounded memo for the demo model's work on text that repeats from request to request (the
 * tools' JSON, a system prompt, tool names and descriptions), so that each chat does not redo it.
 *
 * @module
 */

/**
 * Wraps `fn` so that its results for the last `size` distinct arguments are kept (the oldest is
 * dropped first; a hit counts as a use). Keep `fn` pure and treat its results as read-only: a
 * result is shared by every caller with the same argument.
 * @param fn - a pure function of a string
 * @param size - how many results to keep (≥ 1)
 * @returns the memoized function
 */
export function memoizeByText<T>(fn: (text: string) => T, size: number): (text: string) => T {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`Expected \`size\` to be an integer ≥ 1, got ${String(size)}.`);
  const kept = new Map<string, T>();
  return (text) => {
    if (kept.has(text)) {
      const value = kept.get(text) as T;
      // Map keeps insertion order: moving a hit to the end makes the first key the least recently used.
      kept.delete(text);
      kept.set(text, value);
      return value;
    }
    const value = fn(text);
    if (kept.size >= size) kept.delete(kept.keys().next().value as string);
    kept.set(text, value);
    return value;
  };
}
