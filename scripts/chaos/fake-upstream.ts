/**
 * The suite's upstream model: an OpenAI-shaped `POST /v1/chat/completions` (streaming chunks) that
 * the instances reach through `SLUICE_MODEL=openai:…` and `OPENAI_BASE_URL`. What it does is
 * named by the request's model, `chaos-<fault>-<n>` (n makes each stream's model its own):
 *
 * - `ok`: a role chunk, `words` text chunks 30 ms apart, a `stop` chunk, a usage chunk, `[DONE]`;
 * - `reset`: some chunks, then the TCP connection is destroyed;
 * - `stall`: some chunks, then nothing (the provider's idle timeout, 30 s, ends it);
 * - `malformed`: some chunks, then a `data:` line that is not JSON;
 * - `429-before` / `500-before`: the status before any chunk (429 on every attempt, so the stream
 *   ends with an error after sluice's retries; 500 on the first attempt only, so the retry succeeds);
 * - `429-after` / `500-after`: some chunks, then an OpenAI `{"error":…}` chunk.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** The upstream faults, as they appear in model names. */
export const UPSTREAM_FAULTS = ['reset', 'stall', 'malformed', '429-before', '500-before', '429-after', '500-after'] as const;
/** An upstream fault. */
export type UpstreamFault = (typeof UPSTREAM_FAULTS)[number];
/** What a stream's model does: an upstream fault, or `ok`. */
export type UpstreamBehaviour = UpstreamFault | 'ok';

/** Milliseconds between two chunks. */
const CHUNK_MS = 30;
/** Words of an answer. */
export const ANSWER_WORDS = 40;

/** The model name a stream uses for `behaviour`. */
export function modelFor(behaviour: UpstreamBehaviour, n: number): string {
  return `chaos-${behaviour}-${n}`;
}

/** The text an `ok` answer streams (the same for every stream, so a checker can compare). */
export function answerWord(index: number): string {
  return `w${index} `;
}

function parseBehaviour(model: string): { behaviour: UpstreamBehaviour; n: number } {
  const match = /^chaos-(.+)-(\d+)$/.exec(model);
  const name = match?.[1] ?? 'ok';
  const behaviour = (UPSTREAM_FAULTS as readonly string[]).includes(name) ? (name as UpstreamFault) : 'ok';
  return { behaviour, n: Number(match?.[2] ?? 0) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A running fake upstream. */
export interface FakeUpstream {
  /** The base URL for `OPENAI_BASE_URL` (`…/v1`). */
  readonly baseUrl: string;
  /** Requests answered so far, by behaviour. */
  readonly requests: Map<UpstreamBehaviour, number>;
  close(): Promise<void>;
}

/** Starts the fake upstream on a free loopback port. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const attempts = new Map<string, number>();
  const requests = new Map<UpstreamBehaviour, number>();
  const open = new Set<ServerResponse>();

  const chunk = (id: string, model: string, delta: Record<string, unknown>, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(await readBody(req)) as { model?: string };
    const model = body.model ?? 'chaos-ok-0';
    const { behaviour, n } = parseBehaviour(model);
    requests.set(behaviour, (requests.get(behaviour) ?? 0) + 1);
    const attempt = (attempts.get(model) ?? 0) + 1;
    attempts.set(model, attempt);
    if (behaviour === '429-before') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '50' });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached (chaos).', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }));
      return;
    }
    if (behaviour === '500-before' && attempt === 1) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The server had an error (chaos).', type: 'server_error' } }));
      return;
    }
    const id = `chatcmpl-chaos-${n}-${attempt}`;
    // Where a mid-stream fault strikes: after 3 to 12 words, fixed by the stream's number.
    const faultAt = 3 + (n % 10);
    open.add(res);
    let stopped = false;
    res.on('close', () => {
      stopped = true;
      open.delete(res);
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(chunk(id, model, { role: 'assistant', content: '' }));
    for (let word = 0; word < ANSWER_WORDS; word++) {
      await new Promise((resolve) => setTimeout(resolve, CHUNK_MS));
      if (stopped) return;
      if (word === faultAt && behaviour !== 'ok' && behaviour !== '500-before') {
        switch (behaviour) {
          case 'reset':
            res.socket?.destroy();
            return;
          case 'stall':
            // Nothing more, ever: the client's idle timeout ends it (the socket closes with it).
            return;
          case 'malformed':
            res.end('data: {"id":"broken","choices":[{"delta":{"content":"x"\n\n');
            return;
          case '429-after':
            res.end(`data: ${JSON.stringify({ error: { message: 'Rate limit reached mid-stream (chaos).', type: 'rate_limit_error', code: 'rate_limit_exceeded' } })}\n\n`);
            return;
          case '500-after':
            res.end(`data: ${JSON.stringify({ error: { message: 'The server had an error mid-stream (chaos).', type: 'server_error', code: 'server_error' } })}\n\n`);
            return;
        }
      }
      res.write(chunk(id, model, { content: answerWord(word) }));
    }
    res.write(chunk(id, model, {}, 'stop'));
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: { prompt_tokens: 5, completion_tokens: ANSWER_WORDS, total_tokens: ANSWER_WORDS + 5 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
