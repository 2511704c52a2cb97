/**
 * Apps whose model starts at once and finishes only when the test releases it: the setup of the
 * quota and safety tests, which hold generations open to fill a limit and then let them end. Also
 * the requests those tests make: a JSON error's fields, a subscription read until a data line.
 */
import { expect } from 'vitest';
import type { AgentEvent } from '../../src/protocol/types.ts';
import type { Provider } from '../../src/providers/types.ts';
import { createApp, type AppHandler, type AppOptions } from '../../src/server/app.ts';
import { createModelRegistry } from '../../src/server/models.ts';
import { startServer, type TestServer } from './http.ts';

/** A model held open until {@link HeldModel.release}. */
export interface HeldModel {
  provider: Provider;
  /** Lets every generation waiting now finish (`the answer`, then `finish`); later ones wait again. */
  release(): void;
}

/** A model that answers `message-start` at once, then waits for `release()` (or its run's stop) to say `the answer` and finish. */
export function heldModel(): HeldModel {
  let open!: () => void;
  let gate = new Promise<void>((resolve) => (open = resolve));
  const provider: Provider = async function* held(_request, options) {
    // The gate of when the generation started: release() releases it even when it comes before this
    // generation's first append has landed (and it gets here).
    const released = gate;
    yield { type: 'message-start', messageId: 'msg_held', model: 'held' } satisfies AgentEvent;
    const aborted = new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([released, aborted]);
    options?.signal?.throwIfAborted();
    yield { type: 'text-delta', id: 't', delta: 'the answer' } satisfies AgentEvent;
    yield { type: 'finish', finishReason: 'stop' } satisfies AgentEvent;
  };
  return {
    provider,
    release: () => {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

/** An app on a held model, served on a free loopback port. */
export interface HeldApp {
  app: AppHandler;
  server: TestServer;
  url: string;
  /** Lets the generations waiting now finish. */
  release(): void;
  /** What the app reported with `onWarn` and `onError` (unless the options gave their own). */
  warnings: string[];
  errors: unknown[];
}

/**
 * Starts apps on held models (each its own, unless `model` is shared) and closes them all.
 * @param model - one model for every app (instances sharing a store that hold one answer)
 */
export function heldApps(model?: HeldModel): { start(options?: AppOptions): Promise<HeldApp>; closeAll(): Promise<void> } {
  const started: HeldApp[] = [];
  return {
    async start(options = {}) {
      const held = model ?? heldModel();
      const warnings: string[] = [];
      const errors: unknown[] = [];
      const app = createApp({
        env: {},
        onWarn: (message) => warnings.push(message),
        onError: (error) => errors.push(error),
        models: createModelRegistry({ env: {}, providers: { local: held.provider } }),
        ...options,
      });
      const server = await startServer(app);
      const instance = { app, server, url: server.url, release: held.release, warnings, errors };
      started.push(instance);
      return instance;
    },
    async closeAll() {
      for (const { app, server, release } of started.splice(0)) {
        release();
        await app.shutdown({ drainMs: 0 });
        await server.close();
      }
    },
  };
}

/** `Authorization: Bearer <key>`. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
/** A JSON body's `content-type` with `headers`. */
export const json = (headers: Record<string, string> = {}): Record<string, string> => ({ 'content-type': 'application/json', ...headers });

/** The status, `Retry-After` and `{code, message}` of a JSON error response. */
export async function errorOf(response: Response): Promise<{ status: number; retryAfter: string | null; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ...body.error };
}

/**
 * Subscribes to `topic` of the app at `url` from the start of its history and resolves with the
 * `data:` lines received until `until` matches one; `onOpen` runs once the subscription is
 * answered. Gives up (the read fails) after 10 s.
 */
export async function subscribeUntil(url: string, topic: string, headers: Record<string, string>, until: (data: string) => boolean, onOpen?: () => Promise<void>): Promise<string[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const response = await fetch(`${url}/v1/events?topic=${encodeURIComponent(topic)}`, { headers: { 'last-event-id': '0', ...headers }, signal: controller.signal });
    expect(response.status).toBe(200);
    await onOpen?.();
    const seen: string[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the subscription ended; seen ${JSON.stringify(seen)}`);
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        seen.push(data);
        if (until(data)) {
          controller.abort();
          return seen;
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
