/**
 * Bench server: sluice's Node path. `GET /sse?n=N&size=S&interval=MS`, `GET /text?n=N&size=S`.
 * Run: PORT=3001 node bench/servers/sluice-node.ts
 */
import { createServer } from 'node:http';
import { sendStream } from '../../src/core/node/send-stream.ts';
import { sleep } from '../../src/core/sleep.ts';
import { text } from '../../src/core/text-format.ts';
import { sse } from '../../src/sse/sse-format.ts';
import { benchQuery, token } from './query.ts';

const server = createServer((req, res) => {
  const { path, n, size, interval } = benchQuery(req.url);
  const data = token(size);
  if (path === '/sse') {
    void sendStream(
      res,
      async function* (signal: AbortSignal) {
        for (let i = 0; i < n; i++) {
          yield { data };
          if (interval > 0) await sleep(interval, signal);
        }
      },
      { format: sse() },
    );
  } else if (path === '/text') {
    void sendStream(
      res,
      async function* () {
        for (let i = 0; i < n; i++) yield data;
      },
      { format: text() },
    );
  } else {
    res.writeHead(404).end();
  }
});
server.listen(Number(process.env.PORT ?? 3001), '127.0.0.1', () => console.log('listening'));
