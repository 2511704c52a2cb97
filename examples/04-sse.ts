/**
 * Server-Sent Events twice: by hand with `res.write`, and with sluice — and a page whose
 * `EventSource` reads both. The hand-written one shows the protocol (`data:` lines, a blank line
 * per event, `id:` for resume, `retry:`); the sluice one adds what it forgets: a `data` with a
 * newline split into several `data:` lines instead of breaking the frame, CR/LF refused in
 * `event`/`id`, heartbeats while idle, backpressure, and the abort of the producer when the
 * client leaves.
 *
 *   npm run example:sse            then open http://localhost:3004/ or curl -N http://localhost:3004/sluice
 */
import { createServer } from 'node:http';
import { sleep } from 'sluice';
import { sendStream } from 'sluice/node';
import { sse } from 'sluice/sse';

const PAGE = `<!doctype html><meta charset="utf-8"><title>SSE</title>
<h1>SSE by hand and with sluice</h1><pre id="hand"></pre><pre id="sluice"></pre>
<script type="module" src="/page.js"></script>`;
const PAGE_JS = `for (const name of ['hand', 'sluice']) {
  const out = document.getElementById(name);
  const source = new EventSource('/' + name);
  source.addEventListener('tick', (e) => { out.textContent += name + ' #' + e.lastEventId + ': ' + e.data + '\\n'; });
  source.addEventListener('done', () => source.close());
}`;

const server = createServer((req, res) => {
  const lastEventId = Number(req.headers['last-event-id'] ?? 0);
  if (req.url === '/hand') {
    // The protocol by hand: a few headers, then "field: value" lines and a blank line per event.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write('retry: 1000\n\n');
    let i = lastEventId;
    const timer = setInterval(() => {
      i++;
      // A newline inside the data would end the field early: JSON.stringify keeps it on one line.
      res.write(`event: tick\nid: ${i}\ndata: ${JSON.stringify({ i, text: `line ${i}` })}\n\n`);
      if (i === lastEventId + 3) {
        res.end('event: done\ndata: {}\n\n');
        clearInterval(timer);
      }
    }, 300);
    req.on('close', () => clearInterval(timer)); // forget this and the timer runs forever
    return;
  }
  if (req.url === '/sluice') {
    return void sendStream(
      res,
      async function* (signal: AbortSignal) {
        for (let i = lastEventId + 1; i <= lastEventId + 3; i++) {
          await sleep(300, signal);
          yield { event: 'tick', id: i, data: `line ${i}\nwith a second line` }; // two data: lines
        }
        yield { event: 'done', data: {} };
      },
      { format: sse(), heartbeatMs: 15_000 },
    );
  }
  if (req.url === '/page.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(PAGE_JS);
  if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  res.writeHead(404).end();
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3004);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
