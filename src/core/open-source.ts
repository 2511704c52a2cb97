/**
 * Turns any {@link Source} into one pull iterator with a `return()` that releases it.
 *
 * @module
 */
import type { Source, SourceValue } from './types.ts';

/** One pull interface over every kind of source; `next()` is synchronous for sync iterables. */
export interface PullIterator<T> {
  next(): IteratorResult<T> | Promise<IteratorResult<T>>;
  /** Stops the source: runs generator `finally` blocks, cancels readers, destroys Node streams. */
  return(): unknown;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `${typeof value === 'undefined' ? 'undefined' : typeof value}`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function isReadableStream(value: unknown): value is ReadableStream<unknown> {
  return (
    typeof ReadableStream !== 'undefined' && value instanceof ReadableStream
  ) || (typeof (value as ReadableStream | null)?.getReader === 'function' && typeof (value as ReadableStream).tee === 'function');
}

function fromReadableStream<T>(stream: ReadableStream<T>): PullIterator<T> {
  const reader = stream.getReader();
  let released = false;
  return {
    next: () => reader.read() as Promise<IteratorResult<T>>,
    return() {
      if (released) return undefined;
      released = true;
      // cancel() rejects only when the stream is already errored; that error was seen by next().
      return reader.cancel().catch(() => undefined);
    },
  };
}

/**
 * Calls `return()` on a source nobody reads any more. A rejection there has no one left to
 * reach (the stream already ended), so it is dropped instead of becoming an unhandled rejection.
 */
function releaseQuietly(it: PullIterator<unknown>): void {
  try {
    const returned = it.return();
    if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') (returned as Promise<unknown>).then(undefined, () => undefined);
  } catch {
    // See above: a synchronous throw from return() has no one left to reach either.
  }
}

/** Wraps a promise of a source so that the first `next()` waits for it. */
function fromPromise<T>(promise: PromiseLike<SourceValue<T>>): PullIterator<T> {
  let inner: PullIterator<T> | undefined;
  let stopped = false;
  let opening: Promise<PullIterator<T>> | undefined;
  const open = (): Promise<PullIterator<T>> =>
    (opening ??= Promise.resolve(promise).then((value) => {
      inner = toPullIterator(value);
      if (stopped) releaseQuietly(inner);
      return inner;
    }));
  return {
    next: () => (inner ? inner.next() : open().then((it) => it.next())),
    return() {
      stopped = true;
      return inner?.return();
    },
  };
}

/** A string or a byte array is one chunk, not an iterable of characters or numbers. */
function single<T>(value: T): PullIterator<T> {
  let done = false;
  return {
    next() {
      if (done) return { done: true, value: undefined };
      done = true;
      return { done: false, value };
    },
    return() {
      done = true;
    },
  };
}

function toPullIterator<T>(value: SourceValue<T>): PullIterator<T> {
  if (typeof value === 'string' || value instanceof Uint8Array) return single(value as T);
  if (isReadableStream(value)) return fromReadableStream(value as ReadableStream<T>);
  if (value != null && typeof (value as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    const it = (value as AsyncIterable<T>)[Symbol.asyncIterator]();
    // A generator already is a pull iterator: used as it is, each item costs no extra call.
    if (typeof it.return === 'function') return it as PullIterator<T>;
    return { next: () => it.next(), return: () => it.return?.() };
  }
  if (value != null && typeof (value as Iterable<T>)[Symbol.iterator] === 'function') {
    const it = (value as Iterable<T>)[Symbol.iterator]();
    if (typeof it.return === 'function') return it as PullIterator<T>;
    return { next: () => it.next(), return: () => it.return?.() };
  }
  if (isPromiseLike(value)) return fromPromise(value as PromiseLike<SourceValue<T>>);
  throw new TypeError(
    `Expected a source (an Iterable, AsyncIterable, generator, ReadableStream, Node Readable, or a function (signal) => source), got ${describe(value)}.`,
  );
}

/**
 * Opens a source: calls it with `signal` when it is a function, then adapts what it gives.
 * @param source - any {@link Source}
 * @param signal - aborted when the stream ends early (client gone, caller aborted); required for
 *   a function source, unused otherwise
 * @returns a pull iterator over the source's items
 * @throws TypeError when `source` is not a source
 */
export function openSource<T>(source: Source<T>, signal?: AbortSignal): PullIterator<T> {
  if (typeof source === 'function') return toPullIterator(source(signal ?? new AbortController().signal));
  return toPullIterator(source);
}

/**
 * Checks at the call that `source` is a source, so a bad argument fails there and not inside the stream.
 * @throws TypeError with what was expected and what was given
 */
export function assertSource(source: unknown): void {
  if (typeof source === 'function' || typeof source === 'string' || source instanceof Uint8Array) return;
  if (
    source != null &&
    (isReadableStream(source) ||
      typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      isPromiseLike(source))
  ) {
    return;
  }
  throw new TypeError(
    `Expected a source (an Iterable, AsyncIterable, generator, ReadableStream, Node Readable, or a function (signal) => source), got ${describe(source)}.`,
  );
}
