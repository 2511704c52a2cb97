/**
 * Real-time event push with resume: `GET /events?topic=T` subscribes (SSE, every event with an
 * `id:`), `POST /events` publishes `{"topic","event"?,"data"}`, and a ticker publishes `tick` on
 * topic `ticks` every second. Events go through sluice's memory store, which keeps each topic's
 * recent history, so a subscriber that reconnects with `Last-Event-ID` (what a browser's
 * `EventSource` sends by itself) gets every event it missed, in order, then the live ones.
 * With `REDIS_URL`, `createRedisStore` from 'sluice/store/redis' does the same across instances.
 *
 *   npm run example:push           then: curl -N 'http://localhost:3010/events?topic=ticks'
 *   stop it (Ctrl-C) after, say, id 3; wait a few seconds; then resume — nothing is missed:
 *                                   curl -N -H 'Last-Event-ID: 3' 'http://localhost:3010/events?topic=ticks'
 *   publish on any topic:           curl -i localhost:3010/events -d '{"topic":"news","event":"headline","data":{"title":"hi"}}'
 *   (TICK_MS=200 ticks faster.)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { sendStream } from 'sluice/node';
import { sse, type SseMessage } from 'sluice/sse';
import { createMemoryStore } from 'sluice/store';

const store = createMemoryStore({ topicHistory: 1000 }); // the last 1000 events of each topic can be replayed
const TOPIC = /^[\w.:/-]{1,128}$/;

// The ticker: one event a second on `ticks`, whether anyone listens or not.
let n = 0;
const ticker = setInterval(() => void store.publish('ticks', { event: 'tick', data: { n: ++n, at: new Date().toISOString() } }), Number(process.env.TICK_MS ?? 1000));

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 64 * 1024) throw new Error('body too large');
  }
  return body;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/events') return json(res, 404, { error: { code: 'not_found', message: 'try GET /events?topic=ticks or POST /events' } });

  if (req.method === 'POST') {
    let body: { topic?: unknown; event?: unknown; data?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      return json(res, 400, { error: { code: 'invalid_json', message: 'Expected a JSON body {"topic","event"?,"data"}.' } });
    }
    if (typeof body.topic !== 'string' || !TOPIC.test(body.topic) || body.data === undefined) {
      return json(res, 400, { error: { code: 'invalid_request', message: 'Expected "topic" (1-128 of A-Z a-z 0-9 _ . : / -) and "data".' } });
    }
    if (body.event !== undefined && (typeof body.event !== 'string' || /[\r\n\0]/.test(body.event))) {
      return json(res, 400, { error: { code: 'invalid_request', message: 'Expected "event" to be a string without CR, LF or NUL.' } });
    }
    const id = await store.publish(body.topic, body.event === undefined ? { data: body.data } : { event: body.event, data: body.data });
    return json(res, 202, { id });
  }

  const topic = url.searchParams.get('topic') ?? '';
  if (!TOPIC.test(topic)) return json(res, 400, { error: { code: 'invalid_request', message: 'Expected ?topic=…' } });
  // Where the client left off: the `Last-Event-ID` header (EventSource, curl -H) or `?last_event_id=`.
  const header = req.headers['last-event-id'];
  const after = (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('last_event_id') ?? undefined;
  async function* events(signal: AbortSignal): AsyncGenerator<SseMessage> {
    const options = after === undefined ? { signal } : { after, signal };
    // The missed events first (from the topic's history), then live ones, until the client leaves.
    for await (const event of store.subscribe(topic, options)) yield event.event === undefined ? { id: event.id, data: event.data } : { id: event.id, event: event.event, data: event.data };
  }
  // holdHeadersMs: 0 answers at once even on a quiet topic; a `: ping` comment keeps idle connections open.
  await sendStream(res, events, { format: sse(), holdHeadersMs: 0 });
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3010);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/events?topic=ticks`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});

process.once('SIGINT', () => {
  clearInterval(ticker);
  void store.close();
  server.close();
  server.closeAllConnections();
});
