/**
 * `sluice chat "question"`: streams an answer to the terminal — text as it arrives, thinking set
 * apart, tool calls, sources and progress marked. Runs the agent in-process with the built-in
 * tools (`--model`, else `SLUICE_MODEL`, else `local`), or asks a running sluice server with
 * `--url`; there Ctrl-C stops the generation on the server (`DELETE /v1/streams/<id>`).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { connectMcpServers, type McpConnection } from '../agent/mcp/mcp-client.ts';
import { MCP_SERVERS_ENV, parseMcpServers } from '../agent/mcp/mcp-config.ts';
import { runAgent } from '../agent/run-agent.ts';
import { createBuiltinTools } from '../agent/tools/builtin-tools.ts';
import type { ApprovalDecision, ApprovalGate } from '../agent/types.ts';
import { createPublishEventTool } from '../agent/tools/publish-event.ts';
import { loadStore } from '../server/runs/load-store.ts';
import type { StreamStore } from '../store/types.ts';
import { isSluiceError } from '../core/errors.ts';
import { describeAbort } from '../protocol/abort-note.ts';
import { parseAgentEvent } from '../protocol/schema.ts';
import type { AgentEvent } from '../protocol/types.ts';
import { createModelRegistry } from '../server/models.ts';
import { fetchEventStream, STREAM_ID_HEADER } from '../sse/client.ts';

/** Where `runChat` writes, and what it reads. */
export interface ChatIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  /**
   * Asks the person at the terminal and resolves with the line they typed (undefined when input
   * has ended). Used for tool approvals.
   * @defaultValue a line read from stdin
   */
  ask?: (prompt: string) => Promise<string | undefined>;
}

/** Whether a typed answer approves: `y` or `yes`, in any case. */
function isYes(answer: string | undefined): boolean {
  return /^\s*y(?:es)?\s*$/i.test(answer ?? '');
}

/** Reads one line from stdin (the default {@link ChatIo.ask}). */
async function askOnStdin(prompt: string, output: ChatIo['stdout']): Promise<string | undefined> {
  const { createInterface } = await import('node:readline');
  output.write(prompt);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    return await new Promise<string | undefined>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(undefined));
    });
  } finally {
    rl.close();
  }
}

// C0 controls except TAB and LF, DEL, and C1 controls (ESC-less CSI and OSC among them).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const USAGE = 'Usage: sluice chat "question" [--model NAME] [--url http://localhost:3000 [--api-key KEY]] [--system TEXT]\n';

/** How long Ctrl-C waits for the server to confirm the stop (its `abort` event) before leaving anyway. */
const STOP_WAIT_MS = 3000;

/** A chat on a running server, and how to stop it there. */
interface RemoteChat {
  events: AsyncIterable<AgentEvent>;
  /** Asks the server to stop the generation; resolves false when it could not be asked. */
  stop(): Promise<boolean>;
  /** Drops the connection. */
  close(): void;
  /** The stream's id, once the server said it. */
  readonly streamId: string | undefined;
}

/** A path of the server at `base`, keeping any path prefix of --url (a server mounted under /sluice/). */
function endpoint(base: string, path: string): URL {
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/** Sends a decision on an approval of the server's stream; resolves with the HTTP status. */
async function answerRemote(base: string, streamId: string | undefined, approvalId: string, approved: boolean, apiKey: string | undefined): Promise<number> {
  if (streamId === undefined) return 0;
  const response = await fetch(endpoint(base, `v1/streams/${encodeURIComponent(streamId)}/approvals/${encodeURIComponent(approvalId)}`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(approved ? { approved } : { approved, reason: 'denied in the terminal' }),
  });
  await response.body?.cancel();
  return response.status;
}

function remoteChat(base: string, body: unknown, apiKey: string | undefined): RemoteChat {
  const controller = new AbortController();
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  let streamId: string | undefined;
  const options: Parameters<typeof fetchEventStream>[1] = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
    signal: controller.signal,
    onOpen: (response) => (streamId ??= response.headers.get(STREAM_ID_HEADER) ?? undefined),
  };
  async function* events(): AsyncIterable<AgentEvent> {
    for await (const event of fetchEventStream(endpoint(base, 'v1/chat'), options)) {
      yield parseAgentEvent(JSON.parse(event.data));
    }
  }
  return {
    events: events(),
    async stop() {
      if (streamId === undefined) return false;
      try {
        const response = await fetch(endpoint(base, `v1/streams/${encodeURIComponent(streamId)}`), {
          method: 'DELETE',
          headers: auth,
          signal: AbortSignal.timeout(STOP_WAIT_MS),
        });
        await response.body?.cancel();
        return response.ok;
      } catch {
        // The server is unreachable: nothing more to do than leave (its detach grace stops it).
        return false;
      }
    },
    close: () => controller.abort(new DOMException('Stopped with Ctrl-C.', 'AbortError')),
    get streamId() {
      return streamId;
    },
  };
}

/** The run's events, then the MCP servers closed (a stdio server is stopped) however the reading ends. */
async function* closingMcp(events: AsyncIterable<AgentEvent>, mcp: McpConnection): AsyncGenerator<AgentEvent> {
  try {
    yield* events;
  } finally {
    await mcp.close();
  }
}

/**
 * Runs `sluice chat`.
 * @param argv - the arguments after `chat`
 * @param io - output streams, environment, abort signal
 * @returns the exit code: 0 when the answer finished, 1 on an error, 2 on bad usage, 130 when stopped
 */
export async function runChat(argv: string[], io: ChatIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string', short: 'm' },
        url: { type: 'string' },
        'api-key': { type: 'string' },
        system: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`sluice chat: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const question = parsed.positionals.join(' ').trim();
  if (question === '') {
    io.stderr.write(`sluice chat: no question given.\n${USAGE}`);
    return 2;
  }
  const messages = [
    ...(parsed.values.system ? [{ role: 'system' as const, content: parsed.values.system }] : []),
    { role: 'user' as const, content: question },
  ];
  const color = io.stdout.isTTY === true;
  const dim = (text: string): string => (color ? `\u001b[2m${text}\u001b[22m` : text);
  const mark = (text: string): string => (color ? `\u001b[36m${text}\u001b[39m` : text);

  const env = io.env ?? process.env;
  let events: AsyncIterable<AgentEvent>;
  let remote: RemoteChat | undefined;
  let apiKey: string | undefined;
  let store: Promise<StreamStore> | undefined;
  const ask = io.ask ?? ((prompt: string) => askOnStdin(prompt, io.stdout));
  /** In-process: the decisions typed at the terminal, by approval id, for the agent loop waiting on them. */
  const decisions = new Map<string, (decision: ApprovalDecision) => void>();
  const gate: ApprovalGate = {
    open: () => Promise.resolve(),
    wait: (request, signal) =>
      new Promise<ApprovalDecision>((resolve, reject) => {
        decisions.set(request.approvalId, resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  };
  try {
    if (parsed.values.url) {
      apiKey = (parsed.values['api-key'] ?? env.SLUICE_API_KEY?.trim()) || undefined;
      remote = remoteChat(parsed.values.url, { messages, ...(parsed.values.model ? { model: parsed.values.model } : {}) }, apiKey || undefined);
      events = remote.events;
    } else {
      const registry = createModelRegistry({ env });
      const model = registry.resolve(parsed.values.model);
      // The agent, like the server runs it: the model plus the built-in tools and the MCP servers'.
      // publish_event publishes where a server would: the shared Redis when REDIS_URL is set (every
      // instance's subscribers see it), else this process's memory.
      const publishEvent = createPublishEventTool({
        publish: async (topic, event) => {
          store ??= loadStore(env.REDIS_URL?.trim() || undefined);
          return (await store).publish(topic, event);
        },
      });
      const servers = parseMcpServers(env[MCP_SERVERS_ENV]);
      const mcp = Object.keys(servers).length > 0 ? await connectMcpServers(servers, { stderr: 'ignore' }) : undefined;
      for (const server of mcp?.servers ?? []) if (server.error !== undefined) io.stderr.write(`sluice chat: ${server.error}\n`);
      const tools = [...createBuiltinTools(), publishEvent, ...(mcp?.tools ?? [])];
      const run = runAgent({ provider: model.provider, model: model.modelId, messages, tools, approvals: gate, env, ...(io.signal ? { signal: io.signal } : {}) });
      events = mcp === undefined ? run : closingMcp(run, mcp);
    }
  } catch (error) {
    io.stderr.write(`sluice chat: ${(error as Error).message}\n`);
    return isSluiceError(error) && error.status < 500 ? 2 : 1;
  }

  // Ctrl-C with --url: ask the server to stop the generation (its stream then ends with `abort`,
  // which ends the loop below); leave anyway when that does not come within STOP_WAIT_MS.
  let stopped = false;
  const onInterrupt = (): void => {
    if (remote === undefined || stopped) return;
    stopped = true;
    const current = remote;
    const leave = setTimeout(() => current.close(), STOP_WAIT_MS);
    leave.unref?.();
    void current.stop().then((asked) => {
      if (!asked) current.close();
    });
  };
  if (remote !== undefined) {
    if (io.signal?.aborted) onInterrupt();
    else io.signal?.addEventListener('abort', onInterrupt, { once: true });
  }

  let atLineStart = true;
  /** Whether the last line written is a progress line that the next progress may overwrite (TTY). */
  let progressLine = false;
  // Model and server text must not drive the terminal: drop control characters but LF and TAB
  // (escape sequences could retitle the window, hide text or write to the clipboard).
  const clean = (text: string): string => (color ? text.replace(CONTROL_CHARACTERS, '') : text);
  const write = (text: string): void => {
    if (text === '') return;
    io.stdout.write(text);
    atLineStart = text.endsWith('\n');
    progressLine = false;
  };
  const line = (text: string): void => {
    if (!atLineStart) write('\n');
    write(`${text}\n`);
  };
  try {
    for await (const event of events) {
      switch (event.type) {
        case 'reasoning-start':
          line(dim('[thinking]'));
          break;
        case 'reasoning-delta':
          write(dim(clean(event.delta)));
          break;
        case 'reasoning-end':
          // A blank line sets the thinking apart from the answer.
          write(atLineStart ? '\n' : '\n\n');
          break;
        case 'text-start':
          if (!atLineStart) write('\n');
          break;
        case 'text-delta':
          write(clean(event.delta));
          break;
        case 'tool-call':
          line(mark(clean(`[tool call] ${event.toolName} ${JSON.stringify(event.input)}`)));
          break;
        case 'tool-result':
          line(mark(clean(`[tool result] ${event.toolName} ${abbreviate(JSON.stringify(event.output) ?? 'null')}`)));
          break;
        case 'tool-error':
          line(mark(clean(`[tool error] ${event.toolName}: ${event.message}`)));
          break;
        case 'approval-request': {
          if (!atLineStart) write('\n');
          const answer = await ask(mark(clean(`[approval] ${event.toolName} ${JSON.stringify(event.input)} — run it? [y/N] `)));
          atLineStart = true;
          const approved = isYes(answer);
          if (remote === undefined) {
            decisions.get(event.approvalId)?.(approved ? { approved } : { approved, reason: 'denied in the terminal' });
            decisions.delete(event.approvalId);
          } else {
            const status = await answerRemote(parsed.values.url ?? '', remote.streamId, event.approvalId, approved, apiKey);
            // 409: another client (the page, another terminal) or the timeout answered first; the stream says how.
            if (status === 409) line(mark('[approval] already answered elsewhere'));
            else if (status !== 202) line(mark(`[approval] the server did not take the answer (HTTP ${status})`));
          }
          break;
        }
        case 'approval-response':
          line(mark(clean(event.approved ? '[approved]' : `[denied${event.reason ? `: ${event.reason}` : ''}]`)));
          break;
        case 'tool-output-denied':
          line(mark(clean(`[tool denied] ${event.toolName}${event.reason ? ` (${event.reason})` : ''}`)));
          break;
        case 'source':
          line(mark(clean(`[source] ${event.title ?? event.id}${event.url ? ` <${event.url}>` : ''}`)));
          break;
        case 'progress': {
          const text = mark(clean(`[progress] ${progressBar(event.done, event.total)} ${event.done}/${event.total}${event.message ? ` ${event.message}` : ''}`));
          // On a terminal the bar updates in place (cursor up, clear the line): one compact line
          // per run of progress. Elsewhere (a pipe, a log) each update is a line.
          if (color && progressLine) write(`\u001b[1A\r\u001b[2K${text}\n`);
          else line(text);
          progressLine = color;
          break;
        }
        case 'error':
          if (!atLineStart) write('\n');
          io.stderr.write(`sluice chat: ${event.message} (${event.code})\n`);
          return 1;
        case 'abort':
          if (!atLineStart) write('\n');
          io.stderr.write(`sluice chat: ${describeAbort(event.reason, stopped || io.signal?.aborted === true)}\n`);
          return 130;
        case 'finish':
          if (!atLineStart) write('\n');
          return 0;
        default:
          break;
      }
    }
    if (!atLineStart) write('\n');
    io.stderr.write('sluice chat: the stream ended before the answer was complete.\n');
    return 1;
  } catch (error) {
    if (!atLineStart) write('\n');
    if (io.signal?.aborted) {
      io.stderr.write(`sluice chat: ${describeAbort(undefined, true)}\n`);
      return 130;
    }
    io.stderr.write(`sluice chat: ${(error as Error).message}\n`);
    return 1;
  } finally {
    io.signal?.removeEventListener('abort', onInterrupt);
    remote?.close();
    await store?.then((opened) => opened.close()).catch(() => undefined);
  }
}

/** Longest tool result shown, in characters: a report's whole Markdown is the answer's to tell. */
const MAX_RESULT_CHARS = 200;

/** Cuts a long tool result to one screen line or so. */
function abbreviate(text: string): string {
  return text.length <= MAX_RESULT_CHARS ? text : `${text.slice(0, MAX_RESULT_CHARS)}… (${text.length} characters)`;
}

/** A 10-cell bar for `done` of `total`. */
function progressBar(done: number, total: number): string {
  const cells = 10;
  const filled = total > 0 ? Math.min(cells, Math.max(0, Math.round((done / total) * cells))) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}]`;
}
