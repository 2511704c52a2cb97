/**
 * Bench server: the plain `node:http` loop a developer writes by hand. Each event is one
 * `res.write`, and the loop waits for `drain` when `write` returns false.
 * Run: PORT=3002 node bench/servers/node-loop.ts
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { benchQuery, token } from './query.ts';

async function loop(res: ServerResponse, n: number, chunk: string, interval: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (res.destroyed) return;
    if (!res.write(chunk)) await once(res, 'drain');
    if (interval > 0) await delay(interval);
  }
  res.end();
}

const server = createServer((req, res) => {
  const { path, n, size, interval } = benchQuery(req.url);
  const data = token(size);
  if (path === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    void loop(res, n, `data: ${data}\n\n`, interval);
  } else if (path === '/text') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    void loop(res, n, data, 0);
  } else {
    res.writeHead(404).end();
  }
});
server.listen(Number(process.env.PORT ?? 3002), '127.0.0.1', () => console.log('listening'));
