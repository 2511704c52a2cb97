/**
 * Bench server: better-sse, as its docs show: a session, and the events of an iterable pushed
 * with `session.iterate()` (data sent as is, not JSON-encoded, to match the others' bytes).
 * better-sse has no plain-text streaming, so `/text` is a 404 and the bench skips it.
 * Run: PORT=3005 node bench/servers/better-sse.ts
 */
import { createSession } from 'better-sse';
import { createServer } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { benchQuery, token } from './query.ts';

const server = createServer(async (req, res) => {
  const { path, n, size, interval } = benchQuery(req.url);
  if (path !== '/sse') return void res.writeHead(404).end();
  const data = token(size);
  const session = await createSession(req, res, { serializer: (value) => String(value), retry: null, keepAlive: null });
  await session.iterate(
    (async function* () {
      for (let i = 0; i < n; i++) {
        yield data;
        if (interval > 0) await delay(interval);
      }
    })(),
  );
  res.end();
});
server.listen(Number(process.env.PORT ?? 3005), '127.0.0.1', () => console.log('listening'));
