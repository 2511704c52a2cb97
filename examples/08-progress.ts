/**
 * The progress of a long task, streamed as it happens: a job of ten steps reports each step as a
 * `progress` event (`done` never goes back and ends at `total`) and its intermediate results as
 * `data` events, then `finish` — the same agent events sluice's own jobs and tools send, so
 * every client and wire format of sluice understands them.
 *
 *   npm run example:progress       then: curl -N http://localhost:3008/job
 *   (NDJSON instead of SSE: curl -N -H 'accept: application/x-ndjson' http://localhost:3008/job)
 */
import { createServer } from 'node:http';
import { sleep } from 'sluice';
import { sendStream } from 'sluice/node';
import { negotiateAgentFormat, type AgentEvent } from 'sluice/protocol';

async function* job(signal: AbortSignal): AsyncGenerator<AgentEvent> {
  const total = 10;
  let sum = 0;
  for (let done = 1; done <= total; done++) {
    await sleep(300, signal); // one slow step of the job
    sum += done * done;
    yield { type: 'progress', done, total, message: `step ${done} of ${total}` };
    if (done % 5 === 0) yield { type: 'data', name: 'partial-sum', value: { after: done, sum } };
  }
  yield { type: 'finish', finishReason: 'stop' };
}

const server = createServer((req, res) => {
  if (req.url === '/job') return void sendStream(res, job, { format: negotiateAgentFormat(req.headers.accept) });
  res.writeHead(404).end('try /job\n');
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3008);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/job`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
