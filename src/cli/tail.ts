/**
 * `sluice tail URL`: prints the events of any SSE endpoint, read as a browser's `EventSource`
 * would, reconnecting with `Last-Event-ID` after a dropped connection.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { isAbortError } from '../core/errors.ts';
import { fetchEventStream } from '../sse/client.ts';
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
  try {
    const events = fetchEventStream(url, {
      method: values.request ?? (values.data === undefined ? 'GET' : 'POST'),
      headers,
      body: values.data ?? null,
      reconnect: !values['no-reconnect'],
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
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
    stderr.write(`sluice tail: ${error instanceof Error ? error.message : String(error)}\n`);
    return TAIL_EXIT.failed;
  }
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
