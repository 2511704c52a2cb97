/**
 * The W5 bench's direct path (bench/w5-agent-chats.bench.ts): the `local` model streamed straight
 * to the response with `sendStream` in the AI SDK UI message stream format — no run, no store, no
 * agent loop. What an agent chat costs before the run manager and the store add theirs. With
 * `W5_DIRECT_VARIANT=agent`, the model is run by `runAgent` (the agent loop, no tools); with
 * `agent-tools`, by `runAgent` with the server's built-in tools offered (what `/api/chat` runs),
 * still straight to the response.
 *
 * Run: PORT=… SLUICE_LOCAL_TPS=… SLUICE_LOCAL_TTFT_MS=… [SLUICE_PADDING=off] [W5_DIRECT_VARIANT=agent|agent-tools] node bench/servers/w5-direct.ts
 *
 * @module
 */
import { createServer } from 'node:http';
import { sendStream } from '../../src/core/node/send-stream.ts';
import { aiSdkUiStream } from '../../src/protocol/ai-sdk-ui-stream.ts';
import { parsePaddingEnv } from '../../src/protocol/padding.ts';
import { createLocalProvider } from '../../src/providers/local/local-language-model.ts';
import { W5_QUESTION } from './w5-question.ts';
import { runAgent } from '../../src/agent/run-agent.ts';
import { createBuiltinTools } from '../../src/agent/tools/builtin-tools.ts';
import type { AgentEvent } from '../../src/protocol/types.ts';

const local = createLocalProvider();
const padding = parsePaddingEnv(process.env.SLUICE_PADDING);
const variant = process.env.W5_DIRECT_VARIANT ?? 'model';
if (!['model', 'agent', 'agent-tools'].includes(variant)) throw new RangeError(`Expected W5_DIRECT_VARIANT to be model, agent or agent-tools, got ${variant}.`);
const tools = variant === 'agent-tools' ? createBuiltinTools() : undefined;

function answer(question: string, signal: AbortSignal): AsyncIterable<AgentEvent> {
  const messages = [{ role: 'user' as const, content: question }];
  if (variant === 'model') return local({ model: 'local', messages }, { signal });
  return runAgent({ provider: local, model: 'local', messages, ...(tools === undefined ? {} : { tools }), signal });
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    const parsed = JSON.parse(body) as { messages: { parts: { text: string }[] }[] };
    const question = parsed.messages.at(-1)?.parts[0]?.text ?? W5_QUESTION;
    void sendStream(res, (signal) => answer(question, signal), {
      format: aiSdkUiStream({ padding }),
    });
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log('listening'));
// The bench stops the server with SIGTERM: exiting (rather than being killed) writes a --cpu-prof profile.
process.on('SIGTERM', () => process.exit(0));
