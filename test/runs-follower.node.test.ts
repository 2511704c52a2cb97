/**
 * Runs never left with nobody reading: a chat whose stream cannot be remembered (a Redis blip on
 * `setChatStream`) starts no generation, and a follower whose `sendStream` throws synchronously
 * (a bad option) leaves neither its store attachment nor its place in the follower set behind.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createFollowerSet, followStream } from '../src/server/runs/follow-stream.ts';
import { createRunManager } from '../src/server/runs/run-manager.ts';
import { agentSse } from '../src/protocol/agent-sse.ts';
import { StoreError } from '../src/store/errors.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { StreamStore } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { createServer, type ServerResponse } from 'node:http';

const servers: { app: AppHandler; server: TestServer }[] = [];
afterAll(async () => {
  for (const { app, server } of servers) {
    await app.shutdown({ drainMs: 0 });
    await server.close();
  }
});

describe('POST /api/chat when the chat cannot be remembered', () => {
  it('answers an error and leaves no generation running (none is started)', async () => {
    const base = createMemoryStore();
    const failing = (): Promise<void> => Promise.reject(new StoreError('unavailable', 'Redis is unreachable (a blip).'));
    // The memory store with setChatStream failing, everything else its own.
    const store = new Proxy(base, {
      get: (target, key) => {
        if (key === 'setChatStream') return failing;
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as StreamStore;
    let generations = 0;
    const local = createLocalProvider({ ttftMs: 10, tokensPerSecond: 50 });
    const counting: Provider = (request, providerOptions) => {
      generations++;
      return local(request, providerOptions);
    };
    const app = createApp({ env: {}, store, models: createModelRegistry({ env: {}, providers: { local: counting } }), onError: () => undefined });
    const server = await startServer(app);
    servers.push({ app, server });
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'chat-1', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'What is backpressure?' }] }] }),
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    // Give a started generation time to show up; none may.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await app.metrics.activeStreams.get()).values[0]?.value).toBe(0);
    expect(generations).toBe(0);
  });
});

describe('followStream', () => {
  it('a synchronous throw of sendStream (a bad option) leaves no attachment and no follower behind', async () => {
    const store = createMemoryStore();
    const writer = await store.create({ id: crypto.randomUUID() });
    await writer.append({ type: 'text-delta', id: 't', delta: 'hi' });
    const followers = createFollowerSet();
    const left: string[] = [];
    let res!: ServerResponse;
    const http = createServer((_req, response) => {
      res = response;
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as { port: number };
    const request = fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    await vi.waitFor(() => expect(res).toBeDefined());
    try {
      expect(() => followStream(res, { store, id: writer.id, format: agentSse(), followers, heartbeatMs: -1, onLeave: (id) => left.push(id) })).toThrow(RangeError);
      expect(followers.size).toBe(0);
      expect(await store.detachedSince(writer.id)).toBeTypeOf('number');
      expect(left).toEqual([writer.id]);
    } finally {
      res.destroy();
      await request;
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('the run manager counts followers on this instance at once', () => {
  it('with a grace of 0 and a store that has not recorded any attach yet, a followed run is never aborted; it is once its last follower leaves', async () => {
    const base = createMemoryStore();
    // As a Redis whose attach has not landed: the store knows of no follower, ever.
    const lagging = new Proxy(base, {
      get: (target, key) => {
        if (key === 'attach') return () => () => undefined;
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as StreamStore;
    const runs = createRunManager({ store: lagging, detachGraceMs: 0, onError: () => undefined });
    let stopped: unknown;
    const run = await runs.start({
      source: async function* (signal) {
        yield { type: 'text-delta', id: 't', delta: 'waiting' };
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        stopped = signal.reason;
      },
    });
    // Held by the starting request, then by a follower that takes over: several periodic checks pass.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const leave = runs.attach(run.id);
    run.release();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(stopped).toBeUndefined();
    leave();
    await run.done;
    expect(String(stopped)).toContain('detached');
    const events: string[] = [];
    for await (const { event } of base.read(run.id)) events.push(event.type === 'abort' ? `abort:${event.reason ?? ''}` : event.type);
    expect(events).toEqual(['text-delta', 'abort:detached']);
    await runs.drain(0);
  });
});
