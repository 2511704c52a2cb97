/**
 * Fairness: an always-ready producer (a sync generator, an async one that never waits) yields to
 * the event loop after each batch, so many fast streams never starve another request on the same
 * server. Checked by order, not by time: a health check sent while 50 such streams run is
 * answered before the last of them finishes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sendStream, writeResponse } from '../src/core/node/index.ts';
import { streamingResponse } from '../src/core/streaming-response.ts';
import type { Source } from '../src/core/types.ts';
import { deferred, get, readBody, startServer, type TestServer } from './helpers/http.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const STREAMS = 50;
const ITEMS = 2000;
const LINE = `${'x'.repeat(99)}\n`;

const producers: Record<string, () => Source<string>> = {
  'a sync generator': () =>
    (function* () {
      for (let i = 0; i < ITEMS; i++) yield LINE;
    })(),
  'an async generator that never waits': () =>
    (async function* () {
      for (let i = 0; i < ITEMS; i++) yield LINE;
    })(),
};

const paths = {
  node: (res: Parameters<typeof sendStream>[0], source: Source<string>) => sendStream(res, source),
  web: async (res: Parameters<typeof sendStream>[0], source: Source<string>) => writeResponse(res, await streamingResponse(source)),
};

describe.each(Object.entries(paths))('always-ready producers (%s path)', (_path, send) => {
  it.each(Object.keys(producers))('with %s, /healthz is answered before all 50 streams finish', async (name) => {
    const order: string[] = [];
    const allStarted = deferred();
    let started = 0;
    server = await startServer((req, res) => {
      if (req.url === '/healthz') {
        order.push('healthz');
        res.end('ok');
        return;
      }
      if (++started === STREAMS) allStarted.resolve();
      void send(res, producers[name]!()).then(() => order.push('stream'));
    });
    const bodies = Array.from({ length: STREAMS }, () => get(server!.url).then(readBody));
    await allStarted.promise;
    const health = await readBody(await get(`${server.url}/healthz`));
    const read = await Promise.all(bodies);
    expect(health).toBe('ok');
    expect(read.every((body) => body.length === ITEMS * LINE.length)).toBe(true);
    const streamsBeforeHealth = order.indexOf('healthz');
    expect(order.filter((entry) => entry === 'stream')).toHaveLength(STREAMS);
    expect(streamsBeforeHealth, `the health check waited for ${streamsBeforeHealth} of ${STREAMS} streams`).toBeLessThan(STREAMS);
  });
});
