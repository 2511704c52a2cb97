/**
 * The OpenAI and Anthropic streaming APIs behind a streaming endpoint — the overview's
 * `stream_chat(prompt)` with `AsyncOpenAI(...).chat.completions.create(stream=True)`, in
 * TypeScript, twice: with the official SDK by hand, and with sluice's providers (one event shape
 * for every model). Without keys it runs against sluice's replay kit, which plays recorded
 * OpenAI and Anthropic streams on 127.0.0.1; set OPENAI_API_KEY / ANTHROPIC_API_KEY to use the
 * real APIs instead.
 *
 *   npm run example:providers     then: curl -N -X POST "http://localhost:3003/chat/openai?prompt=hi"
 *   routes: POST /chat/openai  POST /chat/anthropic  (text/plain, token by token)
 *           POST /events/openai POST /events/anthropic (sluice's agent events as SSE)
 */
import { createServer } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { sendStream } from 'sluice/node';
import { agentSse } from 'sluice/protocol';
import { createAnthropicProvider, createOpenAIProvider } from 'sluice/providers';
import { BUNDLED_FIXTURES, createReplayServer, readReplayFixture } from 'sluice/replay';

// No keys: a local replay of recorded streams (split at random and dripped like a real network).
const replay =
  process.env.OPENAI_API_KEY && process.env.ANTHROPIC_API_KEY
    ? undefined
    : await createReplayServer({
        routes: {
          'POST /v1/chat/completions': { ...(await readReplayFixture(new URL('openai-chat/', BUNDLED_FIXTURES), 'text-basic.sse')), chunking: { seed: 1 }, chunkDelayMs: 5 },
          'POST /v1/messages': { ...(await readReplayFixture(new URL('anthropic-messages/', BUNDLED_FIXTURES), 'text.sse')), chunking: { seed: 2 }, chunkDelayMs: 5 },
        },
      });
const openaiOptions = replay ? { apiKey: 'replay', baseURL: `${replay.url}/v1` } : {};
const anthropicOptions = replay ? { apiKey: 'replay', baseURL: replay.url } : {};

// 1. By hand with the official SDKs: an async generator of text, given the request's signal so
//    a client that leaves cancels the model request.
async function* openaiText(prompt: string, signal: AbortSignal) {
  const client = new OpenAI(openaiOptions);
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], stream: true }, { signal });
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content;
    if (delta) yield delta;
  }
}

async function* anthropicText(prompt: string, signal: AbortSignal) {
  const client = new Anthropic(anthropicOptions);
  const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 1024, messages: [{ role: 'user', content: prompt }] }, { signal });
  for await (const event of stream) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield event.delta.text;
  }
}

// 2. With sluice's providers: every model speaks AgentEvents (text, thinking, tool calls, usage,
//    errors), with retries before the first token and timeouts built in.
const providers = { openai: createOpenAIProvider(openaiOptions), anthropic: createAnthropicProvider(anthropicOptions) };
const models = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' };

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const prompt = url.searchParams.get('prompt') ?? 'Say hello';
  const [, kind, vendor] = url.pathname.split('/') as [string, string, 'openai' | 'anthropic'];
  if (req.method === 'POST' && kind === 'chat' && (vendor === 'openai' || vendor === 'anthropic')) {
    return void sendStream(res, (signal) => (vendor === 'openai' ? openaiText(prompt, signal) : anthropicText(prompt, signal)));
  }
  if (req.method === 'POST' && kind === 'events' && (vendor === 'openai' || vendor === 'anthropic')) {
    const messages = [{ role: 'user' as const, content: prompt }];
    return void sendStream(res, (signal) => providers[vendor]({ model: models[vendor], messages }, { signal }), { format: agentSse() });
  }
  res.writeHead(404).end('try POST /chat/openai, /chat/anthropic, /events/openai or /events/anthropic\n');
});

// 127.0.0.1: only this machine can connect (HOST=0.0.0.0 exposes it).
const port = Number(process.env.PORT ?? 3003);
server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://localhost:${typeof address === 'object' && address ? address.port : port}${replay ? ' (replaying recorded streams: no key needed)' : ''}`);
});
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
