/**
 * Must-show 1 of the streaming core: over real loopback HTTP, each source kind streams
 * progressively — the client receives the first chunk while the producer is still running.
 * Each producer yields one chunk, then waits on a gate that only the client's receipt of that
 * chunk opens: a server that buffered the body would never deliver it, and the test would fail.
 * Run through both the Node path (sendStream) and the Web path (streamingResponse).
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import type { Source } from '../src/core/types.ts';
import { deferred, firstChunk, get, readBody, startServer, type TestServer } from './helpers/http.ts';

interface Probe {
  source: Source<string | Uint8Array>;
  /** Opens the gate after the first chunk. */
  release(): void;
  /** Whether the producer has passed the gate. */
  finished(): boolean;
  /** When the producer passed the gate (performance.now()). */
  finishedAt(): number;
}

type Gate = { promise: Promise<void>; resolve: () => void };

function gated(build: (gate: Gate, done: () => void) => Source<string | Uint8Array>): Probe {
  const gate = deferred();
  let finishedAt = Number.POSITIVE_INFINITY;
  return {
    source: build(gate, () => (finishedAt = performance.now())),
    release: () => gate.resolve(),
    finished: () => finishedAt !== Number.POSITIVE_INFINITY,
    finishedAt: () => finishedAt,
  };
}

// Sync sources cannot wait on a gate, so they prove progress differently: they would produce 64 MB,
// and the client gets its first chunk while the producer has been pulled only a little of that.
function bigSync(done: () => void, count = 1024): Iterable<string> {
  const piece = 'x'.repeat(64 * 1024);
  return {
    *[Symbol.iterator]() {
      yield 'first\n';
      for (let i = 0; i < count; i++) yield piece;
      done();
    },
  };
}

const kinds: Record<string, () => Probe> = {
  'async generator': () =>
    gated((gate, done) =>
      (async function* () {
        yield 'first\n';
        await gate.promise;
        yield 'second\n';
        done();
      })(),
    ),
  'async iterable object': () =>
    gated((gate, done) => ({
      [Symbol.asyncIterator]() {
        let step = 0;
        return {
          async next(): Promise<IteratorResult<string>> {
            step++;
            if (step === 1) return { done: false, value: 'first\n' };
            if (step === 2) {
              await gate.promise;
              return { done: false, value: 'second\n' };
            }
            done();
            return { done: true, value: undefined };
          },
        };
      },
    })),
  ReadableStream: () =>
    gated(
      (gate, done) =>
        new ReadableStream<string>({
          async start(controller) {
            controller.enqueue('first\n');
            await gate.promise;
            controller.enqueue('second\n');
            controller.close();
            done();
          },
        }),
    ),
  'Node Readable': () =>
    gated((gate, done) =>
      Readable.from(
        (async function* () {
          yield Buffer.from('first\n');
          await gate.promise;
          yield Buffer.from('second\n');
          done();
        })(),
      ),
    ),
  'function (signal) => source': () =>
    gated((gate, done) => async function* (signal: AbortSignal) {
      expect(signal).toBeInstanceOf(AbortSignal);
      yield 'first\n';
      await gate.promise;
      yield 'second\n';
      done();
    }),
  'function returning a promise of a ReadableStream': () =>
    gated((gate, done) => async () =>
      new ReadableStream<string>({
        async start(controller) {
          controller.enqueue('first\n');
          await gate.promise;
          controller.enqueue('second\n');
          controller.close();
          done();
        },
      }),
    ),
};

const syncKinds: Record<string, (done: () => void) => Source<string>> = {
  'sync generator': (done) =>
    (function* () {
      yield* bigSync(done);
    })(),
  'Iterable object': (done) => bigSync(done),
};

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const paths = {
  'Node path (sendStream)': (source: Source<string | Uint8Array>) => startServer((_req, res) => void sendStream(res, source)),
  'Web path (streamingResponse)': (source: Source<string | Uint8Array>) =>
    startServer(async (_req, res) => writeResponse(res, await streamingResponse(source))),
};

describe.each(Object.entries(paths))('%s', (_name, serve) => {
  it.each(Object.keys(kinds))('streams a %s progressively', async (kind) => {
    const probe = kinds[kind]!();
    server = await serve(probe.source);
    const res = await get(server.url);
    expect(res.statusCode).toBe(200);
    const first = await firstChunk(res);
    const receivedAt = performance.now();
    expect(first).toBe('first\n');
    expect(probe.finished()).toBe(false);
    const rest = readBody(res);
    probe.release();
    expect(await rest).toBe('second\n');
    expect(probe.finished()).toBe(true);
    expect(receivedAt).toBeLessThan(probe.finishedAt());
  });

  it.each(Object.keys(syncKinds))('streams a %s progressively, pulling only as far as the client reads', async (kind) => {
    let finished = false;
    server = await serve(syncKinds[kind]!(() => (finished = true)));
    const res = await get(server.url);
    const first = await firstChunk(res);
    expect(first.startsWith('first\n')).toBe(true);
    expect(finished).toBe(false);
    res.resume();
    await new Promise<void>((resolve) => res.on('end', resolve));
    expect(finished).toBe(true);
  });
});

describe('single values', () => {
  it('sends a string source as one chunk rather than character by character', async () => {
    server = await startServer((_req, res) => void sendStream(res, 'hello'));
    expect(await readBody(await get(server.url))).toBe('hello');
  });

  it('throws a TypeError at the call for something that is not a source', () => {
    expect(() => streamingResponse(42 as unknown as Source<string>)).toThrowError(/Expected a source .* got number/);
  });
});
