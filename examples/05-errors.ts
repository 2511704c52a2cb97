/**
 * Errors and exceptions in a stream. Before the first byte an error can still be a real HTTP
 * status; after it, the status (200) is on the wire, so the error must travel inside the body in
 * a way the client cannot mistake for a success: an `error` event (SSE), a last `{"error":…}`
 * line (NDJSON), or an aborted transfer (plain text, whose body has no way to say it). And the
 * producer's `finally` runs when the client leaves.
 *
 *   npm run example:errors         then: curl -i -N http://localhost:3005/<route>
 *   /before     a SluiceError before the first item: HTTP 429 with a JSON body
 *   /after-sse  two events, then an `event: error` and a clean end
 *   /after-ndjson  two lines, then {"error":{…}}
 *   /after-text two lines, then the chunked body is cut (curl: "transfer closed")
 *   /slow       counts until you press Ctrl-C; the server logs that its finally ran
 */
import { createServer } from 'node:http';
import { ndjson, sleep, SluiceError, text } from 'sluice';
import { sendStream } from 'sluice/node';
import { sse } from 'sluice/sse';

async function* failsAfterTwo(signal: AbortSignal) {
  yield 'first\n';
  await sleep(200, signal);
  yield 'second\n';
  await sleep(200, signal);
  throw new Error('the model provider went away'); // clients see a safe message, not this one
}

const server = createServer((req, res) => {
  switch (req.url) {
    case '/before':
      // eslint-disable-next-line require-yield -- it fails before its first item, which is the point
      return void sendStream(res, async function* () {
        throw new SluiceError('rate_limited', 'Too many requests: try again in 10 seconds.', { status: 429 });
      });
    case '/after-sse':
      return void sendStream(res, async function* (signal: AbortSignal) {
        for await (const line of failsAfterTwo(signal)) yield { event: 'token', data: line.trim() };
      }, { format: sse() });
    case '/after-ndjson':
      return void sendStream(res, async function* (signal: AbortSignal) {
        for await (const line of failsAfterTwo(signal)) yield { token: line.trim() };
      }, { format: ndjson() });
    case '/after-text':
      return void sendStream(res, failsAfterTwo, { format: text() });
    case '/slow':
      return void sendStream(res, async function* (signal: AbortSignal) {
        try {
          for (let i = 0; ; i++) {
            await sleep(500, signal);
            yield `${i}\n`;
          }
        } finally {
          console.log('/slow: the client left, finally ran, the producer stopped');
        }
      });
  }
  res.writeHead(404).end('try /before /after-sse /after-ndjson /after-text /slow\n');
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3005);
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
