/**
 * `sluice chat "question"`: streams an answer to the terminal — text as it arrives, thinking,
 * tool calls and sources marked. Runs the model in-process (`--model`, else `SLUICE_MODEL`, else
 * `local`), or asks a running sluice server with `--url`.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { isSluiceError } from '../core/errors.ts';
import { parseAgentEvent } from '../protocol/schema.ts';
import type { AgentEvent } from '../protocol/types.ts';
import { createModelRegistry } from '../server/models.ts';
import { fetchEventStream } from '../sse/client.ts';

/** Where `runChat` writes, and what it reads. */
export interface ChatIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
}

// C0 controls except TAB and LF, DEL, and C1 controls (ESC-less CSI and OSC among them).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const USAGE = 'Usage: sluice chat "question" [--model NAME] [--url http://localhost:3000] [--system TEXT]\n';

async function* remoteEvents(base: string, body: unknown, signal: AbortSignal | undefined): AsyncIterable<AgentEvent> {
  const options: Parameters<typeof fetchEventStream>[1] = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
  if (signal) options.signal = signal;
  // Keep any path prefix of --url (a server mounted under /sluice/): resolve against it as a folder.
  const url = new URL('v1/chat', base.endsWith('/') ? base : `${base}/`);
  for await (const event of fetchEventStream(url, options)) {
    yield parseAgentEvent(JSON.parse(event.data));
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
      options: { model: { type: 'string', short: 'm' }, url: { type: 'string' }, system: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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

  let events: AsyncIterable<AgentEvent>;
  try {
    if (parsed.values.url) {
      events = remoteEvents(parsed.values.url, { messages, ...(parsed.values.model ? { model: parsed.values.model } : {}) }, io.signal);
    } else {
      const registry = createModelRegistry(io.env ? { env: io.env } : {});
      const model = registry.resolve(parsed.values.model);
      events = model.provider({ messages, model: model.modelId }, io.signal ? { signal: io.signal } : {});
    }
  } catch (error) {
    io.stderr.write(`sluice chat: ${(error as Error).message}\n`);
    return isSluiceError(error) && error.status < 500 ? 2 : 1;
  }

  let atLineStart = true;
  // Model and server text must not drive the terminal: drop control characters but LF and TAB
  // (escape sequences could retitle the window, hide text or write to the clipboard).
  const clean = (text: string): string => (color ? text.replace(CONTROL_CHARACTERS, '') : text);
  const write = (text: string): void => {
    if (text === '') return;
    io.stdout.write(text);
    atLineStart = text.endsWith('\n');
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
          if (!atLineStart) write('\n');
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
          line(mark(clean(`[tool result] ${event.toolName} ${JSON.stringify(event.output)}`)));
          break;
        case 'tool-error':
          line(mark(clean(`[tool error] ${event.toolName}: ${event.message}`)));
          break;
        case 'source':
          line(mark(clean(`[source] ${event.title ?? event.id}${event.url ? ` <${event.url}>` : ''}`)));
          break;
        case 'progress':
          line(mark(clean(`[progress] ${event.done}/${event.total}${event.message ? ` ${event.message}` : ''}`)));
          break;
        case 'error':
          if (!atLineStart) write('\n');
          io.stderr.write(`sluice chat: ${event.message} (${event.code})\n`);
          return 1;
        case 'abort':
          if (!atLineStart) write('\n');
          io.stderr.write(`sluice chat: stopped${event.reason ? `: ${event.reason}` : ''}\n`);
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
    if (io.signal?.aborted) return 130;
    io.stderr.write(`sluice chat: ${(error as Error).message}\n`);
    return 1;
  }
}
