/**
 * Bench server: sluice's Web path (`streamingResponse`) inside a Hono app on @hono/node-server —
 * what a Hono, Next.js or Bun user of sluice runs.
 * Run: PORT=3004 node bench/servers/sluice-web-hono.ts
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { sleep } from '../../src/core/sleep.ts';
import { streamingResponse } from '../../src/core/streaming-response.ts';
import { text } from '../../src/core/text-format.ts';
import { sse } from '../../src/sse/sse-format.ts';
import { benchQuery, token } from './query.ts';

const app = new Hono();
app.get('/sse', (c) => {
  const { n, size, interval } = benchQuery(c.req.url);
  const data = token(size);
  return streamingResponse(
    async function* (signal: AbortSignal) {
      for (let i = 0; i < n; i++) {
        yield { data };
        if (interval > 0) await sleep(interval, signal);
      }
    },
    { format: sse() },
  );
});
app.get('/text', (c) => {
  const { n, size } = benchQuery(c.req.url);
  const data = token(size);
  return streamingResponse(
    async function* () {
      for (let i = 0; i < n; i++) yield data;
    },
    { format: text() },
  );
});
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3004), hostname: '127.0.0.1' }, () => console.log('listening'));
