/**
 * A file download whose client stops reading is ended after the send timeout (between 1 and 1.25
 * times it, by the route's drain watch; a socket timeout would let it stay about twice as long),
 * and one whose client reads is not. In the sequential timing project: it bounds a duration.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { sendError } from '../src/server/http-error.ts';
import { Router } from '../src/server/router.ts';
import { createFilesRoute } from '../src/server/routes/files.ts';
import { startServer } from './helpers/http.ts';

const TIMEOUT_MS = 1_000;
const SIZE = 32 * 1024 * 1024;

function download(url: string): Promise<{ status: number; length: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let length = 0;
      res.on('data', (chunk: Buffer) => (length += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

it('ends a download whose client stopped reading after the send timeout; one that reads to the end is not cut', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'sluice-files-stall-'));
  // Far more than the socket buffers hold, so the server's writes stall.
  writeFileSync(join(folder, 'big.bin'), Buffer.alloc(SIZE, 7));
  const files = createFilesRoute({ dir: folder, sendTimeoutMs: TIMEOUT_MS });
  const router = new Router().on('GET', '/v1/files/:name', files);
  let closedAt: number | undefined;
  const server = await startServer((req, res) => {
    req.socket.once('close', () => (closedAt = performance.now()));
    const { handler, params } = router.match('GET', new URL(req.url ?? '/', 'http://x').pathname);
    Promise.resolve(handler(req, res, { url: new URL(req.url ?? '/', 'http://x'), params })).catch((error: unknown) => sendError(res, error));
  });
  try {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /v1/files/big.bin HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    await once(socket, 'data');
    // Stop reading: the socket buffers fill within milliseconds, then nothing moves.
    socket.pause();
    const stopped = performance.now();
    // Paused, the client would see the close only after what it buffered: watch the server's side.
    await vi.waitFor(() => expect(closedAt).toBeDefined(), { timeout: 10_000, interval: 20 });
    const waited = closedAt! - stopped;
    expect(waited).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    expect(waited).toBeLessThan(TIMEOUT_MS * 1.75);
    socket.destroy();
    // A client that reads takes the whole file, however long that is next to the timeout.
    expect(await download(`${server.url}/v1/files/big.bin`)).toEqual({ status: 200, length: SIZE });
  } finally {
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  }
});
