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
server.listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : process.env.PORT;
  console.log(`listening on http://localhost:${port}/stream`);
});
