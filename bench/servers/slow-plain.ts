/**
 * Slow-streams bench server: the plain `node:http` loop. It runs the shared token generator,
 * writes each event with one `res.write` and waits for `drain` when `write` returns false; a
 * client that goes away aborts the generator's signal, as sluice does.
 * Run: PORT=3012 node bench/servers/slow-plain.ts
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { token } from './query.ts';
import { slowQuery, slowTokens } from './slow-tokens.ts';

async function loop(res: ServerResponse, tokens: AsyncGenerator<{ data: string }>): Promise<void> {
  try {
    for await (const event of tokens) {
      if (res.destroyed) return;
      if (!res.write(`data: ${event.data}\n\n`)) await once(res, 'drain');
    }
    res.end();
  } catch {
    // The client went away: the generator's sleep rejected with the abort reason.
  }
}

const server = createServer((req, res) => {
  const { path, n, interval, size } = slowQuery(req.url);
  if (path !== '/sse') return void res.writeHead(404).end();
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  void loop(res, slowTokens(n, interval, token(size), controller.signal));
});
// A long accept queue: thousands of clients connect within a second or two.
server.listen({ port: Number(process.env.PORT ?? 3012), host: '127.0.0.1', backlog: 4096 }, () => console.log('listening'));
