/**
 * A large file in chunks, with `Range`: the file is read 64 KiB at a time and the next chunk is
 * read only when the socket has taken the last one, so memory stays flat whatever the size; a
 * `Range: bytes=a-b` request gets `206` and exactly those bytes (video players seek this way, and
 * downloads resume); `ETag` + `If-None-Match` give `304`. It writes a 256 MiB sparse file to a
 * temporary folder and serves that folder with the same route as the sluice server's
 * `GET /v1/files/:name`.
 *
 *   npm run example:large-file     then: curl -o /dev/null http://localhost:3009/files/big.bin
 *                                        curl -r 0-15 http://localhost:3009/files/big.bin | xxd
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesRoute, sendError } from 'sluice/server';

const dir = mkdtempSync(join(tmpdir(), 'sluice-example-'));
writeFileSync(join(dir, 'big.bin'), '');
truncateSync(join(dir, 'big.bin'), 256 * 1024 * 1024);
writeFileSync(join(dir, 'hello.txt'), 'Hello, Range! 你好\n');
const files = createFilesRoute({ dir });
// The sparse file takes no disk, but the folder is removed when the example stops all the same.
const cleanUp = (): void => rmSync(dir, { recursive: true, force: true });
process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = /^\/files\/([^/]+)$/.exec(url.pathname);
  if (!match || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(404).end('try /files/big.bin or /files/hello.txt\n');
  let name: string;
  try {
    name = decodeURIComponent(match[1]!);
  } catch (error) {
    return sendError(res, error);
  }
  Promise.resolve(files(req, res, { url, params: { name } })).catch((error: unknown) => sendError(res, error));
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3009);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/files/big.bin`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
