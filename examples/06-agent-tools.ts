/**
 * An agent with tools, streamed as it works: the model's thinking and text, each tool call as it
 * is written (`tool-call-start`, `tool-call-delta`, `tool-call`), what the tool yields while it
 * runs (`source`, `progress`, `data`), its `tool-result`, then the answer written from it. The
 * model is sluice's local demo model (no key, no network); the tools are the built-in ones plus
 * `get_weather`, written here with `tool()` as an async generator that reports its progress.
 *
 *   npm run example:agent          then: curl -N 'http://localhost:3006/chat?q=What%20is%2017*23%3F'
 *   other questions: q=Search%20the%20docs%20for%20backpressure · q=Analyze%20the%20sales%20data ·
 *                    q=What%20is%20the%20weather%20in%20Paris%3F (the custom tool)
 *   NDJSON instead of SSE: curl -N -H 'accept: application/x-ndjson' 'http://localhost:3006/chat?q=…'
 *   POST works too: curl -N localhost:3006/chat -d '{"messages":[{"role":"user","content":"What is 2^10?"}]}'
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createBuiltinTools, runAgent, tool } from 'sluice/agent';
import { sendStream } from 'sluice/node';
import { negotiateAgentFormat } from 'sluice/protocol';
import { createLocalProvider, type ChatMessage } from 'sluice/providers';
import { z } from 'zod';

const STATIONS = ['north', 'centre', 'south'];

/** A tool of your own: it yields progress as it reads each (simulated) station, then returns the result. */
const getWeather = tool({
  name: 'get_weather',
  description: 'Get the current weather for a city from its weather stations',
  input: z.object({ city: z.string().describe('the city') }),
  async *execute({ city }, { signal }) {
    const readings: { station: string; celsius: number }[] = [];
    for (const [i, station] of STATIONS.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // a slow upstream call
      signal.throwIfAborted(); // the request was stopped or the tool timed out
      readings.push({ station, celsius: 12 + ((city.length + i * 3) % 9) });
      yield { type: 'progress', done: i + 1, total: STATIONS.length, message: `read station ${station}` };
    }
    const celsius = readings.reduce((sum, r) => sum + r.celsius, 0) / readings.length;
    return { city, celsius: Math.round(celsius * 10) / 10, readings };
  },
});

const provider = createLocalProvider(); // paced like a real model: SLUICE_LOCAL_TTFT_MS, SLUICE_LOCAL_TPS
const tools = [...createBuiltinTools(), getWeather];

async function readMessages(req: IncomingMessage, url: URL): Promise<ChatMessage[]> {
  if (req.method !== 'POST') return [{ role: 'user', content: url.searchParams.get('q') ?? 'What is 17*23?' }];
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return (JSON.parse(body) as { messages: ChatMessage[] }).messages;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/chat') return void res.writeHead(404).end("try /chat?q=What%20is%2017*23%3F\n");
  let messages: ChatMessage[];
  try {
    messages = await readMessages(req, url);
  } catch {
    return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_json","message":"Expected a JSON body {\\"messages\\":[…]}."}}\n');
  }
  // The agent loop: the model streams; its tool calls run here (with the request's signal), what
  // they yield streams too, and their results go back to the model for the next step.
  const events = (signal: AbortSignal) => runAgent({ provider, model: 'local', messages, tools, signal });
  await sendStream(res, events, { format: negotiateAgentFormat(req.headers.accept) }); // SSE: event and data (no id: not from a store's log)
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3006);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/chat?q=What%20is%2017*23%3F`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
