/**
 * Slow-streams bench server: sluice's Node path (`sendStream` with the `sse()` format) running
 * the shared token generator. Imports the `sluice/node` and `sluice/sse` entry points from source.
 * Run: PORT=3011 node bench/servers/slow-sluice.ts
 */
import { createServer } from 'node:http';
import { sendStream } from '../../src/core/node/index.ts';
import { sse } from '../../src/sse/index.ts';
import { token } from './query.ts';
import { slowQuery, slowTokens } from './slow-tokens.ts';

const server = createServer((req, res) => {
  const { path, n, interval, size } = slowQuery(req.url);
  if (path !== '/sse') return void res.writeHead(404).end();
  const data = token(size);
  void sendStream(res, (signal: AbortSignal) => slowTokens(n, interval, data, signal), { format: sse() });
});
// A long accept queue: thousands of clients connect within a second or two.
server.listen({ port: Number(process.env.PORT ?? 3011), host: '127.0.0.1', backlog: 4096 }, () => console.log('listening'));
