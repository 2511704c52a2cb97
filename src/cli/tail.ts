/**
 * `sluice tail URL`: prints the events of any SSE endpoint, read as a browser's `EventSource`
 * would, reconnecting with `Last-Event-ID` after a dropped connection.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { isAbortError } from '../core/errors.ts';
import { fetchEventStream } from '../sse/client.ts';
import { SseHttpError } from '../sse/errors.ts';
import type { SseEvent } from '../sse/types.ts';

/** Exit codes of `sluice tail`. */
export const TAIL_EXIT = {
  /** The server ended the stream. */
  ended: 0,
  /** An HTTP error status, a non-SSE content type, or a connection that could not be resumed. */
  failed: 1,
  /** Bad arguments. */
  usage: 2,
  /** Stopped by the signal (Ctrl-C). */
  interrupted: 130,
} as const;

/** Where `sluice tail` writes: `process.stdout` and `process.stderr`, or anything with `write`. */
export interface TailOutput {
  write(text: string): unknown;
  once?(event: 'drain', listener: () => void): unknown;
}

/** The environment of {@link runTail}. */
export interface TailOptions {
  /** Receives the events. */
  stdout: TailOutput;
  /** Receives errors and reconnection notices. */
  stderr: TailOutput;
  /** The `fetch` to use. @defaultValue `globalThis.fetch` */
  fetch?: typeof globalThis.fetch;
  /** Stops tailing (the CLI aborts it on SIGINT); the exit code is then 130. */
  signal?: AbortSignal;
}

const TAIL_USAGE = `Usage: sluice tail URL [--json] [--no-reconnect] [-H "Name: value"]... [-X METHOD] [-d BODY]

  --json            one JSON line per event: {"event":…,"data":…,"id":…}
  --no-reconnect    exit instead of reconnecting after a dropped connection
  -H, --header      a request header, "Name: value" (repeatable)
  -X, --request     the request method (default GET, or POST with -d)
  -d, --data        the request body
`;

/**
 * Runs `sluice tail` with the arguments after `tail`.
 * @param argv - the arguments, e.g. `['http://localhost:3000/v1/events?topic=news', '--json']`
 * @param options - where to write, and optionally `fetch` and a `signal`
 * @returns the exit code: 0 when the server ended the stream, 1 on a failure, 2 on bad arguments, 130 when stopped
 * @example
 * ```ts
 * process.exitCode = await runTail(process.argv.slice(3), { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function runTail(argv: string[], options: TailOptions): Promise<number> {
  const { stdout, stderr } = options;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'no-reconnect': { type: 'boolean', default: false },
        header: { type: 'string', short: 'H', multiple: true, default: [] },
        request: { type: 'string', short: 'X' },
        data: { type: 'string', short: 'd' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    stderr.write(`sluice tail: ${error instanceof Error ? error.message : String(error)}\n${TAIL_USAGE}`);
    return TAIL_EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(TAIL_USAGE);
    return TAIL_EXIT.ended;
  }
  const [target, ...extra] = positionals;
  if (target === undefined || extra.length > 0) {
    stderr.write(`sluice tail: expected one URL, got ${positionals.length}.\n${TAIL_USAGE}`);
    return TAIL_EXIT.usage;
  }
  let url: URL;
  try {
    url = new URL(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not http');
  } catch {
    stderr.write(`sluice tail: expected an http:// or https:// URL, got ${JSON.stringify(target)}.\n`);
    return TAIL_EXIT.usage;
  }
  const headers = new Headers();
  for (const header of values.header) {
    const colon = header.indexOf(':');
    const name = colon === -1 ? '' : header.slice(0, colon).trim();
    try {
      if (name === '') throw new TypeError('no name');
      headers.append(name, header.slice(colon + 1).trim());
    } catch {
      stderr.write(`sluice tail: expected a header as "Name: value", got ${JSON.stringify(header)}.\n`);
      return TAIL_EXIT.usage;
    }
  }

  const format = values.json ? formatJson : formatHuman;
  // The SSE client reports an error status without its body; the server's JSON error
  // (`{"error":{"code","message"}}`) says why, so the last error body is kept to print it.
  const fetchImpl = options.fetch ?? globalThis.fetch;
  let errorBody: Promise<string> | undefined;
  const keepingErrors: typeof globalThis.fetch = async (input, init) => {
    const response = await fetchImpl(input, init);
    errorBody = response.ok ? undefined : readBounded(response.clone());
    return response;
  };
  try {
    const events = fetchEventStream(url, {
      method: values.request ?? (values.data === undefined ? 'GET' : 'POST'),
      headers,
      body: values.data ?? null,
      reconnect: !values['no-reconnect'],
      fetch: keepingErrors,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onReconnect: ({ attempt, delay, error }) => {
        const reason = error instanceof Error ? error.message : String(error);
        stderr.write(`sluice tail: ${reason} Retrying in ${Math.round(delay)} ms (attempt ${attempt}).\n`);
      },
    });
    for await (const event of events) {
      if (stdout.write(format(event)) === false && stdout.once !== undefined) {
        // Respect the terminal's or pipe's backpressure instead of buffering without bound.
        await new Promise<void>((resolve) => stdout.once?.('drain', resolve));
      }
    }
    return TAIL_EXIT.ended;
  } catch (error) {
    if (options.signal?.aborted === true || isAbortError(error)) return TAIL_EXIT.interrupted;
    const said = error instanceof SseHttpError && errorBody !== undefined ? describeErrorBody(await withinErrorWait(errorBody)) : '';
    stderr.write(`sluice tail: ${error instanceof Error ? error.message : String(error)}${said}\n`);
    return TAIL_EXIT.failed;
  }
}

/** At most this much of an error response's body is read. */
const MAX_ERROR_BODY = 16 * 1024;

/** How long an error body may take to arrive before the status is printed without it. */
const ERROR_BODY_WAIT_MS = 2000;

/** The body, or '' when it does not come within {@link ERROR_BODY_WAIT_MS}. */
async function withinErrorWait(body: Promise<string>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(''), ERROR_BODY_WAIT_MS);
  });
  try {
    return await Promise.race([body, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The start of a response's body as text ('' if it cannot be read). */
async function readBounded(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < MAX_ERROR_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut short says what it said so far.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

/**
 * What the server said in its JSON error body, as `: message (code)` to append to the status
 * line; '' when the body is not sluice's (or any) `{"error":{"message","code"}}`.
 */
function describeErrorBody(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '';
  }
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
  if (typeof error !== 'object' || error === null) return '';
  const { message, code } = error as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' ? oneLine(message) : '';
  const id = typeof code === 'string' ? oneLine(code) : '';
  if (text === '' && id === '') return '';
  return ` — the server said: ${text === '' ? id : id === '' ? text : `${text} (${id})`}`;
}

/** Text from the server on one line, without control characters that could drive the terminal. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 500);
}

/** `{"event":…,"data":…,"id":…}`, the id left out while empty, as DESIGN.md fixes it. */
function formatJson(event: SseEvent): string {
  return JSON.stringify(event.id === '' ? { event: event.event, data: event.data } : { event: event.event, data: event.data, id: event.id }) + '\n';
}

/** `[type #id] data`, with the data's further lines indented under the first. */
function formatHuman(event: SseEvent): string {
  const prefix = `[${event.event}${event.id === '' ? '' : ` #${event.id}`}] `;
  return prefix + event.data.replaceAll('\n', '\n' + ' '.repeat(prefix.length)) + '\n';
}
