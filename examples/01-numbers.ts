/**
 * The minimal example: numbers streamed as plain text, one line every half second — FastAPI's
 * `StreamingResponse(generate_numbers(), media_type="text/plain")`, in TypeScript.
 *
 *   npm run example:numbers        then: curl -N http://localhost:3001/stream
 */
import { createServer } from 'node:http';
import { sleep } from 'sluice';
import { sendStream } from 'sluice/node';

async function* generateNumbers(signal: AbortSignal) {
  for (let i = 0; i < 10; i++) {
    await sleep(500, signal); // a slow step; aborted at once when the client leaves
    yield `数字: ${i}\n`;
  }
}

const server = createServer((req, res) => {
  if (req.url === '/stream') return void sendStream(res, generateNumbers);
  res.writeHead(404).end();
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3001);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/stream`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
