/**
 * The HTTP server of the W5 bench's direct rows (`w5-direct.ts`, `w5-direct-agent.ts`): each
 * chat's last message answered by `answer` straight to the response with `sendStream` in the AI
 * SDK UI message stream format — no run, no store. Listens on `PORT`, prints `listening`, and
 * exits on SIGTERM (so a `--cpu-prof` profile is written).
 *
 * @module
 */
import { createServer } from 'node:http';
import { sendStream } from '../../src/core/node/send-stream.ts';
import { aiSdkUiStream } from '../../src/protocol/ai-sdk-ui-stream.ts';
import { parsePaddingEnv } from '../../src/protocol/padding.ts';
import type { AgentEvent } from '../../src/protocol/types.ts';
import { W5_QUESTION } from './w5-question.ts';

/**
 * Starts the server.
 * @param answer - the events of the answer to a question
 */
export function serveDirect(answer: (question: string, signal: AbortSignal) => AsyncIterable<AgentEvent>): void {
  const padding = parsePaddingEnv(process.env.SLUICE_PADDING);
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { messages: { parts: { text: string }[] }[] };
      const question = parsed.messages.at(-1)?.parts[0]?.text ?? W5_QUESTION;
      void sendStream(res, (signal) => answer(question, signal), { format: aiSdkUiStream({ padding }) });
    });
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log('listening'));
  // The bench stops the server with SIGTERM: exiting (rather than being killed) writes a --cpu-prof profile.
  process.on('SIGTERM', () => process.exit(0));
}
