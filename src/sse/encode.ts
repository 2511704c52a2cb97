/**
 * The SSE encoder: messages to `text/event-stream` bytes, with every field encoded safely.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 * @module
 */
import { SluiceError } from '../core/errors.ts';

/** One server-sent event. */
export interface SseMessage {
  /** The payload: a string is sent as is (one `data:` line per line), anything else as JSON. */
  data?: unknown;
  /** The event type (`event:`); without it clients dispatch `message`. Must not contain CR, LF or NUL. */
  event?: string;
  /** The event ID (`id:`), sent back by clients as `Last-Event-ID`. Must not contain CR, LF or NUL. */
  id?: string | number;
  /** The reconnection delay in milliseconds (`retry:`), a non-negative integer. */
  retry?: number;
  /** A comment line (`: …`), ignored by clients; multi-line comments become several lines. */
  comment?: string;
}

/** Thrown when a message cannot be encoded without changing its meaning on the wire. */
export class SseEncodeError extends SluiceError {
  override name = 'SseEncodeError';
  /** The field at fault. */
  readonly field: 'event' | 'id' | 'retry';
  constructor(field: 'event' | 'id' | 'retry', message: string) {
    super('sse_invalid_field', message, { status: 500 });
    this.field = field;
  }
}

/** The comment sent while a stream is idle. */
export const KEEP_ALIVE_COMMENT = ': ping\n\n';

const LINE_BREAK = /\r\n|\r|\n/;
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;

function checkField(field: 'event' | 'id', value: string): void {
  if (FORBIDDEN_IN_FIELD.test(value)) {
    throw new SseEncodeError(
      field,
      `Expected the SSE \`${field}\` field to have no CR, LF or NUL character, got ${JSON.stringify(value)}. A line break would end the field early and inject the rest as new fields.`,
    );
  }
}

/** `data` as `data:` lines: one per line of a string, so CR, LF and CRLF never end the event early. */
export function encodeSseData(data: unknown): string {
  if (typeof data !== 'string') {
    // JSON.stringify escapes CR and LF inside strings, so the result is always one line.
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError(`Expected SSE data to be a string or a JSON value, got ${typeof data}.`);
    return 'data: ' + json + '\n';
  }
  if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) return 'data: ' + data + '\n';
  let out = '';
  for (const line of data.split(LINE_BREAK)) out += 'data: ' + line + '\n';
  return out;
}

/**
 * Encodes one message as an SSE event block, ending with the blank line that dispatches it.
 * A plain string is sent as `data`.
 * @param message - the message
 * @returns the event's text
 * @throws SseEncodeError when `event` or `id` contains CR, LF or NUL, or `retry` is not a non-negative integer
 * @example
 * ```ts
 * encodeSse({ event: 'text-delta', id: 7, data: { delta: 'Hi' } })
 * // 'event: text-delta\nid: 7\ndata: {"delta":"Hi"}\n\n'
 * ```
 */
export function encodeSse(message: SseMessage | string): string {
  if (typeof message === 'string') return encodeSseData(message) + '\n';
  let out = '';
  if (message.comment !== undefined) {
    for (const line of message.comment.split(LINE_BREAK)) out += ': ' + line + '\n';
  }
  if (message.event !== undefined) {
    checkField('event', message.event);
    out += 'event: ' + message.event + '\n';
  }
  if (message.id !== undefined) {
    const id = typeof message.id === 'number' ? String(message.id) : message.id;
    checkField('id', id);
    out += 'id: ' + id + '\n';
  }
  if (message.retry !== undefined) {
    if (!Number.isInteger(message.retry) || message.retry < 0) {
      throw new SseEncodeError('retry', `Expected the SSE \`retry\` field to be a non-negative integer (milliseconds), got ${String(message.retry)}.`);
    }
    out += 'retry: ' + message.retry + '\n';
  }
  if (message.data !== undefined) out += encodeSseData(message.data);
  return out + '\n';
}
