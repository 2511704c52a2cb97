/**
 * RAG with its sources streamed as they are retrieved: the client gets each `source` event (id,
 * title, snippet, score) the moment the index yields it, before the model has written a word,
 * then the answer the model writes from those hits, token by token. Retrieval is sluice's own
 * `search_docs` tool (a MiniSearch full-text index over the bundled docs, English and Chinese);
 * the model is the local demo model (no key, no network).
 *
 *   npm run example:rag            then: curl -N 'http://localhost:3007/rag?q=backpressure'
 *   NDJSON, one event per line:     curl -N -H 'accept: application/x-ndjson' 'http://localhost:3007/rag?q=backpressure'
 *   in Chinese:                     curl -N 'http://localhost:3007/rag?q=%E8%83%8C%E5%8E%8B'   (背压)
 */
import { createServer } from 'node:http';
import { createSearchDocsTool, type SearchDocsOutput, type ToolExecuteResult, type ToolUpdate } from 'sluice/agent';
import { sendStream } from 'sluice/node';
import { negotiateAgentFormat, type AgentEvent } from 'sluice/protocol';
import { createLocalProvider } from 'sluice/providers';

const searchDocs = createSearchDocsTool();
const provider = createLocalProvider(); // paced like a real model: SLUICE_LOCAL_TTFT_MS, SLUICE_LOCAL_TPS

/** A tool's `execute` may return its result or be an async generator of updates; this reads both. */
async function* updatesOf<Output>(result: ToolExecuteResult<Output>): AsyncGenerator<ToolUpdate, Output> {
  if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) {
    return yield* result as AsyncGenerator<ToolUpdate, Output>;
  }
  return await result;
}

async function* rag(question: string, signal: AbortSignal): AsyncGenerator<AgentEvent> {
  // 1. Retrieve: each hit is streamed as a `source` event as soon as the index yields it.
  const toolCallId = 'retrieval-1';
  const input = searchDocs.parseInput({ query: question, limit: 4 });
  const retrieval = updatesOf<SearchDocsOutput>(searchDocs.execute(input, { toolCallId, signal }));
  let step = await retrieval.next();
  while (step.done !== true) {
    yield { ...step.value, toolCallId };
    step = await retrieval.next();
  }
  const found = step.value;

  // 2. Generate: the model answers from the hits, given to it as the result of its search.
  const messages = [
    { role: 'user' as const, content: question },
    { role: 'assistant' as const, content: [{ type: 'tool-call' as const, toolCallId, toolName: 'search_docs', input }] },
    { role: 'tool' as const, content: [{ type: 'tool-result' as const, toolCallId, toolName: 'search_docs', output: found }] },
  ];
  yield* provider({ model: 'local', messages }, { signal });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/rag') return void res.writeHead(404).end('try /rag?q=backpressure\n');
  const question = url.searchParams.get('q')?.trim() || 'backpressure';
  // SSE by default (`event: source`, `id: 1, 2, 3 …`); `Accept: application/x-ndjson` gives NDJSON.
  return void sendStream(res, (signal: AbortSignal) => rag(question, signal), { format: negotiateAgentFormat(req.headers.accept) });
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3007);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}/rag?q=backpressure`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
