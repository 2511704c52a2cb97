/**
 * A server whose producer could emit 1 GB as fast as possible, for the backpressure test.
 * GET /firehose streams it; GET /stats reports how far the producer was pulled and the memory.
 * Run: PORT=0 node test/scripts/firehose-server.ts  (prints "listening <port>")
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendStream } from '../../src/core/node/send-stream.ts';

const TOTAL = 1024 * 1024 * 1024;
const PIECE = 64 * 1024;
let produced = 0;
let finished = false;

const server = createServer((req, res) => {
  if (req.url === '/stats') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const memory = process.memoryUsage();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ produced, finished, rss: memory.rss, heapUsed: memory.heapUsed, arrayBuffers: memory.arrayBuffers }));
    return;
  }
  void sendStream(res, async function* () {
    try {
      // A fresh buffer each time, as a real producer would allocate, so a missing backpressure
      // shows up as memory, not as the same buffer queued many times.
      while (produced < TOTAL) {
        const chunk = Buffer.alloc(PIECE, 120);
        produced += PIECE;
        yield chunk;
      }
    } finally {
      finished = true;
    }
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
