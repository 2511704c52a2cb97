/**
 * Every kind of source sluice streams, in every format, on both paths:
 *
 *   npm run example:sources        then: curl -N http://localhost:3002/<route>
 *
 * Node path (sendStream):       /array /generator /async-generator /readable-stream /node-readable /function
 * Formats:                      /ndjson /sse
 * Web path (streamingResponse): /web  — the same Response a Hono or Next.js handler would return
 */
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ndjson, sleep, sse, streamingResponse, type Source } from 'sluice';
import { sendStream, writeResponse } from 'sluice/node';

function* syncGenerator() {
  for (const word of ['sync', 'generators', 'work', 'too']) yield `${word}\n`;
}

async function* asyncGenerator(signal: AbortSignal) {
  for (const word of ['tokens', 'arrive', 'one', 'by', 'one']) {
    await sleep(200, signal);
    yield `${word}\n`;
  }
}

function readableStream(): ReadableStream<string> {
  let i = 0;
  return new ReadableStream<string>({
    async pull(controller) {
      await sleep(200);
      if (i === 3) return controller.close();
      controller.enqueue(`web stream chunk ${i++}\n`);
    },
  });
}

const routes: Record<string, () => Source<string | Uint8Array>> = {
  '/array': () => ['an ', 'array ', 'of ', 'strings\n'],
  '/generator': () => syncGenerator(),
  '/async-generator': () => asyncGenerator,
  '/readable-stream': () => readableStream(),
  // A Node Readable: this very file, in small chunks.
  '/node-readable': () => createReadStream(fileURLToPath(import.meta.url), { highWaterMark: 256 }),
  // A function receives the stream's AbortSignal: pass it to fetch() or your model SDK.
  '/function': () => async function* (signal: AbortSignal) {
    yield 'a function (signal) => source\n';
    await sleep(300, signal);
    yield `signal aborted: ${signal.aborted}\n`;
  },
};

const server = createServer(async (req, res) => {
  const url = req.url ?? '/';
  const route = routes[url];
  if (route) return void sendStream(res, route());
  if (url === '/ndjson') {
    return void sendStream(
      res,
      async function* (signal: AbortSignal) {
        for (let done = 1; done <= 3; done++) {
          await sleep(200, signal);
          yield { progress: { done, total: 3 } };
        }
      },
      { format: ndjson() },
    );
  }
  if (url === '/sse') {
    return void sendStream(
      res,
      async function* (signal: AbortSignal) {
        for (let i = 1; i <= 3; i++) {
          await sleep(200, signal);
          yield { event: 'tick', id: i, data: { i } };
        }
      },
      { format: sse() },
    );
  }
  if (url === '/web') return writeResponse(res, await streamingResponse(asyncGenerator));
  res.writeHead(404).end(`try one of: ${[...Object.keys(routes), '/ndjson', '/sse', '/web'].join(' ')}\n`);
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3002);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
