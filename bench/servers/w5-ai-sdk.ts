/**
 * The W5 bench's peer (bench/w5-agent-chats.bench.ts): the Vercel AI SDK's own server path,
 * `streamText` + `pipeUIMessageStreamToResponse` on `node:http`, over a mock model (`ai/test`'s
 * `MockLanguageModelV3`) that streams the `local` model's events on the local model's own
 * drift-free pacing — the same tokens at the same times as sluice's chats, in the same wire
 * format (the AI SDK UI message stream).
 *
 * Run: PORT=… SLUICE_LOCAL_TPS=… SLUICE_LOCAL_TTFT_MS=… node bench/servers/w5-ai-sdk.ts
 *
 * @module
 */
import { createServer } from 'node:http';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { createLocalProvider } from '../../src/providers/local/local-language-model.ts';
import type { AgentEvent } from '../../src/protocol/types.ts';

const local = createLocalProvider();

/** The local model's events as a language model's stream parts. */
function toParts(question: string, signal: AbortSignal): ReadableStream<LanguageModelV3StreamPart> {
  const events = local({ model: 'local', messages: [{ role: 'user', content: question }] }, { signal })[Symbol.asyncIterator]();
  let started = false;
  return new ReadableStream<LanguageModelV3StreamPart>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue({ type: 'stream-start', warnings: [] });
      }
      for (;;) {
        const next = await events.next();
        if (next.done) return controller.close();
        const part = toPart(next.value);
        if (part !== undefined) return controller.enqueue(part);
      }
    },
    async cancel() {
      await events.return?.();
    },
  });
}

function toPart(event: AgentEvent): LanguageModelV3StreamPart | undefined {
  switch (event.type) {
    case 'text-start':
    case 'text-end':
    case 'reasoning-start':
    case 'reasoning-end':
      return { type: event.type, id: event.id };
    case 'text-delta':
    case 'reasoning-delta':
      return { type: event.type, id: event.id, delta: event.delta };
    case 'finish':
      return {
        type: 'finish',
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: event.usage?.inputTokens ?? undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: event.usage?.outputTokens ?? undefined, text: undefined, reasoning: undefined },
        },
      };
    default:
      return undefined;
  }
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    void (async () => {
      const { messages } = JSON.parse(body) as { messages: UIMessage[] };
      const question = messages.at(-1)?.parts.find((part) => part.type === 'text')?.text ?? '';
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const model = new MockLanguageModelV3({ doStream: async ({ abortSignal }) => ({ stream: toParts(question, abortSignal ?? abort.signal) }) });
      const result = streamText({ model, messages: await convertToModelMessages(messages), abortSignal: abort.signal });
      result.pipeUIMessageStreamToResponse(res);
    })();
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log('listening'));
// The bench stops the server with SIGTERM: exiting (rather than being killed) writes a --cpu-prof profile.
process.on('SIGTERM', () => process.exit(0));
