/**
 * The files route alone in its own process, for the memory test of a large download.
 * GET /v1/files/:name serves FILES_DIR; GET /stats reports the process's memory.
 * Run: FILES_DIR=/tmp/x node test/scripts/files-server.ts  (prints "listening <port>")
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from '../../src/server/http-error.ts';
import { createFilesRoute } from '../../src/server/routes/files.ts';

const files = createFilesRoute({ dir: process.env.FILES_DIR ?? '.' });
const server = createServer((req, res) => {
  if (req.url === '/stats') {
    const memory = process.memoryUsage();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ rss: memory.rss, heapUsed: memory.heapUsed, arrayBuffers: memory.arrayBuffers }));
    return;
  }
  const name = decodeURIComponent((req.url ?? '').replace(/^\/v1\/files\//, ''));
  Promise.resolve(files(req, res, { url: new URL(req.url ?? '/', 'http://x'), params: { name } })).catch((error: unknown) => sendError(res, error));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
