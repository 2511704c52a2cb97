/**
 * An app on the local model (no first-token wait, no pacing) with its own memory store, served on a
 * free loopback port: the setup of the tests that drive the agent and its tools over HTTP and then
 * look in the store for what they did.
 */
import { createLocalProvider } from '../../src/providers/local/index.ts';
import { createApp, type AppHandler, type AppOptions } from '../../src/server/app.ts';
import { createModelRegistry } from '../../src/server/models.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import type { StreamStore, TopicEvent } from '../../src/store/types.ts';
import { startServer, type TestServer } from './http.ts';

/** A running app of {@link startLocalApp}. */
export interface LocalApp {
  app: AppHandler;
  store: StreamStore;
  server: TestServer;
  url: string;
  /** A JSON `POST` to a path of the app. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** The events published on `topic` (in `owner`'s topics) so far. */
  topicEvents(topic: string, owner: string | undefined): Promise<TopicEvent[]>;
  /** Shuts the app down, closes the server and the store. */
  close(): Promise<void>;
}

/**
 * Starts an app on the local model and a fresh memory store.
 * @param options - the app's options besides its store and models (`env`, `apiKeys`, `limits` …)
 */
export async function startLocalApp(options: Omit<AppOptions, 'store' | 'models'> = {}): Promise<LocalApp> {
  const store = createMemoryStore();
  const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
  const app = createApp({ env: {}, ...options, store, models: createModelRegistry({ env: {}, providers: { local } }) });
  const server = await startServer(app);
  return {
    app,
    store,
    server,
    url: server.url,
    post: (path, body, headers = {}) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }),
    async topicEvents(topic, owner) {
      const controller = new AbortController();
      const events: TopicEvent[] = [];
      const reading = (async () => {
        for await (const event of store.subscribe(topic, { after: '0', signal: controller.signal, owner })) events.push(event);
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort();
      await reading.catch(() => undefined);
      return events;
    },
    async close() {
      await app.shutdown({ drainMs: 0 });
      await server.close();
      await store.close();
    },
  };
}
