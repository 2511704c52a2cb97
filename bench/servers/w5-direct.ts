/**
 * The W5 bench's direct path (bench/w5-agent-chats.bench.ts): the `local` model streamed straight
 * to the response with `sendStream` in the AI SDK UI message stream format — no run, no store, no
 * agent loop. What an agent chat costs before the run manager and the store add theirs.
 *
 * Run: PORT=… SLUICE_LOCAL_TPS=… SLUICE_LOCAL_TTFT_MS=… [SLUICE_PADDING=off] node bench/servers/w5-direct.ts
 *
 * @module
 */
import { createServer } from 'node:http';
import { sendStream } from '../../src/core/node/send-stream.ts';
import { aiSdkUiStream } from '../../src/protocol/ai-sdk-ui-stream.ts';
import { parsePaddingEnv } from '../../src/protocol/padding.ts';
import { createLocalProvider } from '../../src/providers/local/local-language-model.ts';
import { W5_QUESTION } from './w5-question.ts';

const local = createLocalProvider();
const padding = parsePaddingEnv(process.env.SLUICE_PADDING);

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    const parsed = JSON.parse(body) as { messages: { parts: { text: string }[] }[] };
    const question = parsed.messages.at(-1)?.parts[0]?.text ?? W5_QUESTION;
    void sendStream(res, (signal) => local({ model: 'local', messages: [{ role: 'user', content: question }] }, { signal }), {
      format: aiSdkUiStream({ padding }),
    });
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log('listening'));
// The bench stops the server with SIGTERM: exiting (rather than being killed) writes a --cpu-prof profile.
process.on('SIGTERM', () => process.exit(0));
