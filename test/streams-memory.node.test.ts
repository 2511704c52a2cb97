/**
 * Streams that outlive their connections, on one instance with the memory store: resume after a
 * dropped connection with `Last-Event-ID`, several followers of one stream, stop from a second
 * connection, the detach grace, the AI SDK's resume, event push, auth and metrics.
 */
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp, type AppHandler, type AppOptions } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { StoreError } from '../src/store/errors.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { StreamStore, StreamWriter } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';
import { agentEvents, expectConsecutive, readEvents, textOf, type ReceivedEvent } from './helpers/sse-events.ts';

const QUESTION = { messages: [{ role: 'user', content: 'What is backpressure?' }] };

interface Instance {
  app: AppHandler;
  server: TestServer;
  /** Generations whose signal was aborted. */
  aborted: () => number;
}

const instances: Instance[] = [];

/** An app serving the local model at a pace slow enough to drop and resume mid-answer. */
async function start(options: AppOptions = {}, pace = { ttftMs: 10, tokensPerSecond: 300 }): Promise<Instance> {
  const local = createLocalProvider(pace);
  let aborted = 0;
  const counting: Provider = (request, providerOptions) => {
    providerOptions?.signal?.addEventListener('abort', () => aborted++, { once: true });
    return local(request, providerOptions);
  };
  const app = createApp({ env: {}, models: createModelRegistry({ env: {}, providers: { local: counting } }), ...options });
  const instance = { app, server: await startServer(app), aborted: () => aborted };
  instances.push(instance);
  return instance;
}

let main: Instance;
let reference: ReceivedEvent[];

beforeAll(async () => {
  main = await start();
  // The same request, uninterrupted, unpaced: what every resumed answer must add up to.
  const fast = await start({}, { ttftMs: 0, tokensPerSecond: 0 });
  reference = agentEvents((await readEvents(await post(fast, '/v1/chat', QUESTION))).events);
});

afterAll(async () => {
  for (const { app, server } of instances) {
    await app.shutdown({ drainMs: 0 });
    await server.close();
  }
});

function post(instance: Instance, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${instance.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function resume(instance: Instance, id: string, lastEventId: number | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${instance.server.url}/v1/streams/${id}`, { headers: { 'last-event-id': String(lastEventId), ...headers } });
}

/** Without message ids (they differ per generation), for comparing two runs of one request. */
function comparable(events: readonly ReceivedEvent[]): unknown[] {
  return events.map(({ type, data }) => (type === 'message-start' ? { type } : data));
}

async function metric(instance: Instance, name: string): Promise<number> {
  const response = await fetch(`${instance.server.url}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  expect(text).toContain(`# TYPE ${name} gauge`);
  // A gauge without labels is one sample line: `<name> <value>`.
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  if (line === undefined) throw new Error(`No ${name} sample in /metrics:\n${text}`);
  return Number(line.slice(name.length + 1));
}

describe('resume with Last-Event-ID (memory store)', () => {
  it('a stream dropped after a few events and resumed yields every event once, ids consecutive, the same answer', async () => {
    const first = await post(main, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const head = agentEvents((await readEvents(first, 5)).events);
    expect(head.map((event) => event.id)).toEqual([1, 2, 3, 4, 5]);
    const second = await resume(main, id, 5);
    expect(second.status).toBe(200);
    expect(second.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const rest = await readEvents(second);
    expect(rest.ended).toBe(true);
    const all = [...head, ...agentEvents(rest.events)];
    expectConsecutive(all);
    expect(all.at(-1)?.type).toBe('finish');
    expect(comparable(all)).toEqual(comparable(reference));
    expect(textOf(all)).toBe(textOf(reference));
  });

  it('?last_event_id=0 replays from the start, also after the stream is done', async () => {
    const first = await post(main, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const whole = agentEvents((await readEvents(first)).events);
    const replay = await fetch(`${main.server.url}/v1/streams/${id}?last_event_id=0`);
    expect(agentEvents((await readEvents(replay)).events)).toEqual(whole);
  });

  it('two followers of one stream receive identical events', async () => {
    const first = await post(main, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const [a, b] = await Promise.all([readEvents(first), resume(main, id, 0).then((response) => readEvents(response))]);
    expect(a.events.length).toBeGreaterThan(20);
    expect(b.events).toEqual(a.events);
  });

  it('answers 404 for an unknown stream and 400 for a Last-Event-ID that is not an event id', async () => {
    const unknown = await resume(main, crypto.randomUUID(), 0);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const id = (await post(main, '/v1/chat', QUESTION)).headers.get('x-stream-id')!;
    const bad = await resume(main, id, 'abc');
    expect(bad.status).toBe(400);
    await bad.body?.cancel();
  });
});

describe('a Last-Event-ID past the end of the log', () => {
  it('gets 409 ahead_of_log on a live stream, a finished one and their HEAD: never clamped, never renumbered', async () => {
    const first = await post(main, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const head = agentEvents((await readEvents(first, 3)).events);
    expect(head.map((event) => event.id)).toEqual([1, 2, 3]);
    const ahead = await resume(main, id, 500);
    expect(ahead.status).toBe(409);
    expect(((await ahead.json()) as { error: { code: string } }).error.code).toBe('ahead_of_log');
    const headRequest = await fetch(`${main.server.url}/v1/streams/${id}`, { method: 'HEAD', headers: { 'last-event-id': '500' } });
    expect(headRequest.status).toBe(409);
    // Within the log, the events after the id, each with its id in the log.
    const rest = agentEvents((await readEvents(await resume(main, id, 3))).events);
    expectConsecutive(rest, 4);
    const lastId = rest.at(-1)!.id;
    const done = await resume(main, id, lastId + 1);
    expect(done.status).toBe(409);
    expect(((await done.json()) as { error: { code: string } }).error.code).toBe('ahead_of_log');
    // At the end exactly: nothing more, a clean end.
    const atEnd = await readEvents(await resume(main, id, lastId));
    expect(atEnd).toEqual({ events: [], ended: true });
  });
});

describe('stop and the detach grace', () => {
  it('DELETE from a second connection ends every follower with abort; active streams drop to 0', async () => {
    const own = await start();
    const first = await post(own, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const other = await resume(own, id, 0);
    const head = agentEvents((await readEvents(first, 3)).events);
    expect(head).toHaveLength(3);
    expect(await metric(own, 'sluice_active_streams')).toBe(1);
    const stop = await fetch(`${own.server.url}/v1/streams/${id}`, { method: 'DELETE' });
    expect(stop.status).toBe(202);
    expect(await stop.json()).toEqual({ id, status: 'stopping' });
    const followed = agentEvents((await readEvents(other)).events);
    expect(followed.at(-1)).toMatchObject({ type: 'abort', data: { type: 'abort', reason: 'stopped' } });
    expectConsecutive(followed);
    const late = agentEvents((await readEvents(await resume(own, id, 0))).events);
    expect(late).toEqual(followed);
    expect(own.aborted()).toBe(1);
    await vi.waitFor(async () => expect(await metric(own, 'sluice_active_streams')).toBe(0));
    const again = await fetch(`${own.server.url}/v1/streams/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id, status: 'done' });
  });

  it('a generation nobody follows for the grace is aborted; within it, it is resumable', async () => {
    const short = await start({ detachGraceMs: 300 });
    const first = await post(short, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    await readEvents(first, 3);
    // Within the grace: resumable, and following it keeps it alive.
    const within = await resume(short, id, 3);
    const part = agentEvents((await readEvents(within, 3)).events);
    expect(part.map((event) => event.id)).toEqual([4, 5, 6]);
    // Then nobody follows: it is aborted once the grace runs out.
    await vi.waitFor(() => expect(short.aborted()).toBe(1), { timeout: 10_000 });
    const replay = agentEvents((await readEvents(await resume(short, id, 0))).events);
    expectConsecutive(replay);
    expect(replay.at(-1)).toMatchObject({ type: 'abort', data: { reason: 'detached' } });
  });

  it('a grace of 0 aborts the generation as soon as its last follower leaves', async () => {
    const none = await start({ detachGraceMs: 0 });
    const first = await post(none, '/v1/chat', QUESTION);
    await readEvents(first, 3);
    await vi.waitFor(() => expect(none.aborted()).toBe(1));
    await vi.waitFor(async () => expect(await metric(none, 'sluice_active_streams')).toBe(0));
  });
});

describe('the AI SDK resume (DefaultChatTransport.reconnectToStream)', () => {
  it('resumes an active chat from its start, and gets null for a chat with none', async () => {
    const transport = new DefaultChatTransport<UIMessage>({ api: `${main.server.url}/api/chat` });
    const messages: UIMessage[] = [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'What is backpressure?' }] }];
    const chatId = `chat-${crypto.randomUUID()}`;
    const controller = new AbortController();
    const stream = await transport.sendMessages({ trigger: 'submit-message', chatId, messageId: undefined, messages, abortSignal: controller.signal });
    const reader = stream.getReader();
    await reader.read();
    // The page reloads: the first response is gone, the generation is not.
    controller.abort();
    await reader.cancel().catch(() => undefined);
    const resumed = await transport.reconnectToStream({ chatId });
    expect(resumed).not.toBeNull();
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: resumed!, terminateOnError: true })) last = message;
    const text = last?.parts.filter((part) => part.type === 'text').map((part) => (part as { text: string }).text).join('');
    expect(text).toBe(textOf(reference));
    // The chat's stream is done now: nothing to resume.
    expect(await transport.reconnectToStream({ chatId })).toBeNull();
    expect(await transport.reconnectToStream({ chatId: 'no-such-chat' })).toBeNull();
  });
});

describe('event push (memory store)', () => {
  it('delivers published events to subscribers and replays after Last-Event-ID', async () => {
    const topic = `t-${crypto.randomUUID()}`;
    const subscriber = await fetch(`${main.server.url}/v1/events?topic=${topic}`);
    expect(subscriber.status).toBe(200);
    const published: string[] = [];
    for (const data of [{ n: 1 }, 'two\nlines', { n: 3 }]) {
      const response = await post(main, '/v1/events', { topic, event: 'tick', data });
      expect(response.status).toBe(202);
      published.push(((await response.json()) as { id: string }).id);
    }
    const { events } = await readEvents(subscriber, 3);
    expect(events).toEqual([
      { event: 'tick', id: published[0], data: '{"n":1}' },
      { event: 'tick', id: published[1], data: 'two\nlines' },
      { event: 'tick', id: published[2], data: '{"n":3}' },
    ]);
    const replay = await fetch(`${main.server.url}/v1/events?topic=${topic}`, { headers: { 'last-event-id': published[0]! } });
    expect((await readEvents(replay, 2)).events.map((event) => event.id)).toEqual(published.slice(1));
  });

  it('refuses an event name with CR, LF or NUL, and a bad topic, with 400', async () => {
    for (const event of ['a\nb', 'a\rb', 'a\0b']) {
      const response = await post(main, '/v1/events', { topic: 't', event, data: 1 });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    expect((await post(main, '/v1/events', { topic: 'a b', data: 1 })).status).toBe(400);
    expect((await post(main, '/v1/events', { topic: 't' })).status).toBe(400);
    const subscribe = await fetch(`${main.server.url}/v1/events?topic=${'x'.repeat(129)}`);
    expect(subscribe.status).toBe(400);
    await subscribe.body?.cancel();
  });
});

describe('access with SLUICE_API_KEYS', () => {
  it('answers 401 without a valid key, and 404 to another key on resume and stop', async () => {
    const secured = await start({ env: { SLUICE_API_KEYS: 'key-one, key-two' } });
    const none = await post(secured, '/v1/chat', QUESTION);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await post(secured, '/v1/chat', QUESTION, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await fetch(`${secured.server.url}/api/chat/x/stream`)).status).toBe(401);
    expect((await fetch(`${secured.server.url}/healthz`)).status).toBe(200);

    const first = await post(secured, '/v1/chat', QUESTION, { authorization: 'Bearer key-one' });
    expect(first.status).toBe(200);
    const id = first.headers.get('x-stream-id')!;
    await readEvents(first, 2);
    const foreign = await resume(secured, id, 0, { 'x-api-key': 'key-two' });
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const foreignStop = await fetch(`${secured.server.url}/v1/streams/${id}`, { method: 'DELETE', headers: { 'x-api-key': 'key-two' } });
    expect(foreignStop.status).toBe(404);
    const own = await resume(secured, id, 0, { 'x-api-key': 'key-one' });
    expect(own.status).toBe(200);
    const events = agentEvents((await readEvents(own)).events);
    expect(events.at(-1)?.type).toBe('finish');
  });
});

describe('health and metrics', () => {
  it('answers /readyz 200 with the memory store and /metrics in the Prometheus text format', async () => {
    const ready = await fetch(`${main.server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const first = await post(main, '/v1/chat', QUESTION);
    await readEvents(first, 1).catch(() => undefined);
    expect(await metric(main, 'sluice_open_connections')).toBeGreaterThanOrEqual(0);
    const open = await post(main, '/v1/chat', QUESTION);
    const reader = open.body!.getReader();
    await reader.read();
    expect(await metric(main, 'sluice_open_connections')).toBe(1);
    expect(await metric(main, 'sluice_active_streams')).toBeGreaterThanOrEqual(1);
    await reader.cancel();
    await vi.waitFor(async () => expect(await metric(main, 'sluice_open_connections')).toBe(0));
  });
});

describe('many followers', () => {
  it('200 concurrent resumes of live streams lose and duplicate nothing', async () => {
    const busy = await start();
    const firsts = await Promise.all(Array.from({ length: 20 }, () => post(busy, '/v1/chat', QUESTION)));
    const ids = firsts.map((response) => response.headers.get('x-stream-id')!);
    // The first responses leave after one event each; the generations go on (within the grace).
    await Promise.all(firsts.map((response) => readEvents(response, 1)));
    const resumes = ids.flatMap((id) => Array.from({ length: 10 }, (_, index) => ({ id, after: index })));
    const results = await Promise.all(resumes.map(async ({ id, after }) => ({ after, events: agentEvents((await readEvents(await resume(busy, id, after))).events) })));
    expect(results).toHaveLength(200);
    for (const { after, events } of results) {
      expectConsecutive(events, after + 1);
      expect(comparable(events)).toEqual(comparable(reference.slice(after)));
    }
  });
});

describe('a store that refuses appends', () => {
  it('a run whose append is refused (fenced) aborts its upstream and stops; followers end with producer_lost', async () => {
    const base = createMemoryStore({ leaseMs: 200 });
    let appended = 0;
    // The writer is fenced after 5 events, as when a follower declared this producer lost.
    const fence = (writer: StreamWriter): StreamWriter => ({
      id: writer.id,
      token: writer.token,
      append: (event) => (++appended > 5 ? Promise.reject(new StoreError('fenced', 'The lease was lost.')) : writer.append(event)),
      onStop: (listener) => writer.onStop(listener),
      close: () => writer.close(),
    });
    const store = new Proxy(base, {
      get(target, key, receiver) {
        if (key === 'create') return async (options: Parameters<StreamStore['create']>[0]) => fence(await target.create(options));
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const fenced = await start({ store, onError: () => undefined });
    const response = await post(fenced, '/v1/chat', QUESTION);
    const events = agentEvents((await readEvents(response)).events);
    expectConsecutive(events);
    expect(events).toHaveLength(6);
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { code: 'producer_lost' } });
    await vi.waitFor(() => expect(fenced.aborted()).toBe(1));
    await vi.waitFor(async () => expect(await metric(fenced, 'sluice_active_streams')).toBe(0));
    await store.close();
  });
});

describe('graceful shutdown (in process)', () => {
  it('answers 503 to new streams, lets generations finish, and keeps memory-store followers to the end', async () => {
    const store = createMemoryStore();
    const leaving = await start({ store, drainMs: 20_000 });
    const first = await post(leaving, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const reading = readEvents(first);
    const shutdown = leaving.app.shutdown();
    const refused = await post(leaving, '/v1/chat', QUESTION);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
    expect((await fetch(`${leaving.server.url}/readyz`)).status).toBe(503);
    // No other instance could resume it (memory): the follower gets the whole answer.
    const { events, ended } = await reading;
    expect(ended).toBe(true);
    expect(comparable(agentEvents(events))).toEqual(comparable(reference));
    await shutdown;
    const stored: string[] = [];
    for await (const { event } of store.read(id)) stored.push(event.type);
    expect(stored.at(-1)).toBe('finish');
    await store.close();
  });

  it('drops followers at once when the store is shared, so their clients resume elsewhere', async () => {
    const memory = createMemoryStore();
    // The same store under another kind: what the app sees of Redis.
    const shared = new Proxy(memory, {
      get(target, key, receiver) {
        if (key === 'kind') return 'shared';
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const leaving = await start({ store: shared, drainMs: 20_000 });
    const staying = await start({ store: shared });
    const first = await post(leaving, '/v1/chat', QUESTION);
    const id = first.headers.get('x-stream-id')!;
    const reader = first.body!.getReader();
    const head = await reader.read();
    expect(head.done).toBe(false);
    const shutdown = leaving.app.shutdown();
    // A dropped connection, not a clean end: clients reconnect.
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended';
      })(),
    ).rejects.toThrow();
    const resumed = agentEvents((await readEvents(await resume(staying, id, 0))).events);
    expectConsecutive(resumed);
    expect(comparable(resumed)).toEqual(comparable(reference));
    await shutdown;
    await memory.close();
  });
});

describe('the memory path', () => {
  it('never loads the Redis client (store/redis.ts is imported only when REDIS_URL is set)', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const app = fileURLToPath(new URL('../src/server/app.ts', import.meta.url));
    // A child process records every module it resolves while the app starts and answers.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      const { createApp } = await import(${JSON.stringify(app)});
      const { createServer } = await import('node:http');
      const server = createServer(createApp({ env: {} }));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const response = await fetch('http://127.0.0.1:' + server.address().port + '/readyz');
      console.log(JSON.stringify({ status: response.status, seen }));
      server.close();
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const { status, seen } = JSON.parse(out) as { status: number; seen: string[] };
    expect(status).toBe(200);
    expect(seen).toContain('../../store/memory.ts');
    expect(seen.filter((specifier) => specifier === 'redis' || specifier.endsWith('store/redis.ts'))).toEqual([]);
  });
});
