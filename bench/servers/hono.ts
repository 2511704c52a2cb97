/**
 * Bench server: Hono's streaming helpers (`streamSSE`, `stream`) on @hono/node-server, written as
 * Hono's docs show: one `await stream.writeSSE()` / `stream.write()` per event.
 * Run: PORT=3003 node bench/servers/hono.ts
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { stream, streamSSE } from 'hono/streaming';
import { benchQuery, token } from './query.ts';

const app = new Hono();
app.get('/sse', (c) => {
  const { n, size, interval } = benchQuery(c.req.url);
  const data = token(size);
  return streamSSE(c, async (s) => {
    for (let i = 0; i < n; i++) {
      await s.writeSSE({ data });
      if (interval > 0) await s.sleep(interval);
    }
  });
});
app.get('/text', (c) => {
  const { n, size } = benchQuery(c.req.url);
  const data = token(size);
  return stream(c, async (s) => {
    for (let i = 0; i < n; i++) await s.write(data);
  });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3003), hostname: '127.0.0.1' }, () => console.log('listening'));
