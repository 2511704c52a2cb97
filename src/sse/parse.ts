/**
 * The SSE parser: `text/event-stream` bytes or text to events, exactly as the WHATWG HTML
 * "interpreting an event stream" rules say, in time linear in the input whatever the read sizes.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */
import { SseParseError } from './errors.ts';
import type { EventSourceParser, ParserOptions } from './types.ts';

const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;
const NUL = '\0';
const BYTE_ORDER_MARK = 0xfeff;
const DEFAULT_EVENT_TYPE = 'message';
const ASCII_DIGITS = /^[0-9]+$/;
/** The largest integer V8 keeps unboxed (a Smi) on every platform. */
const MAX_SMALL_INTEGER = 2 ** 30 - 1;
/** CR and CRLF line endings; each becomes a LF before lines are split (see `feedText`). */
const CR_LINE_ENDINGS = /\r\n?/g;

/** Text reads shorter than this, or longer than the next, are not copied to bytes (see `asciiBytes`). */
const MIN_ASCII_COPY = 64;
const MAX_ASCII_COPY = 64 * 1024;
/** Text reads skipped by `asciiBytes` after one that was not ASCII, doubling up to the second after each further one. */
const ASCII_RETRY_AFTER = 16;
const ASCII_RETRY_AFTER_MAX = 1024;
/** Reads longer than this are not copied into the parser's reused buffer (see `feedBytes`). */
const MAX_JOIN_COPY = 64 * 1024;

/**
 * How many bytes at the end of `bytes[0, length)` a streaming UTF-8 decoder holds back for the next
 * read: a lead byte followed by fewer continuation bytes than its character needs, the first of them
 * within the lead's bounds. Anything else (a whole character, an invalid byte or sequence) it has
 * already turned into characters or U+FFFD. Before a byte that is not a continuation byte its state
 * is always empty, so the bytes before the tail decode the same without streaming.
 * @see https://encoding.spec.whatwg.org/#utf-8-decoder
 * @param bytes - a read, with any bytes held back from the one before
 * @param length - how many bytes of `bytes` to look at
 * @returns 0 to 3
 */
function incompleteTail(bytes: Uint8Array, length: number): number {
  // The last lead byte, among the last three bytes.
  for (let i = length - 1; i >= 0 && i >= length - 3; i--) {
    const lead = bytes[i] as number;
    if (lead < 0x80) return 0;
    if (lead < 0xc0) continue;
    const have = length - i;
    // C0, C1 and F5 to FF are never lead bytes: 0 makes them complete (as errors).
    const needs = lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0;
    if (have >= needs) return 0;
    if (have === 1) return 1;
    const second = bytes[i + 1] as number;
    const lower = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const upper = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    return second >= lower && second <= upper ? have : 0;
  }
  return 0;
}

// Byte tests. The hot loops read code units from the text with `charCodeAt`, or from the read's
// bytes when they line up with it (`bytes[i]` is about ten times cheaper); each test comes in both
// forms. Measured: one form that picks text or bytes at each read made the loop 25% slower.

/**
 * Whether the line at `i` starts with `data:`, given its first code unit `first`. Hand-unrolled, as
 * in eventsource-parser's `isDataPrefix` (cheaper than `startsWith`). The code unit after a line is
 * LF, never a letter or a colon, so the test cannot match across a line end; the caller makes sure
 * that the next 6 code units exist (reading past the end deoptimises `charCodeAt`).
 * @returns true for a `data` field with a colon
 */
function isDataPrefix(text: string, i: number, first: number): boolean {
  // d a t a :
  return first === 100 && text.charCodeAt(i + 1) === 97 && text.charCodeAt(i + 2) === 116 && text.charCodeAt(i + 3) === 97 && text.charCodeAt(i + 4) === COLON;
}

/** {@link isDataPrefix} on the bytes of an aligned read. */
function isDataPrefixInBytes(bytes: Uint8Array, i: number, first: number): boolean {
  return first === 100 && bytes[i + 1] === 97 && bytes[i + 2] === 116 && bytes[i + 3] === 97 && bytes[i + 4] === COLON;
}

/**
 * Whether the line at `i` starts with `event:` (see {@link isDataPrefix}).
 * @returns true for an `event` field with a colon
 */
function isEventPrefix(text: string, i: number, first: number): boolean {
  // e v e n t :
  return (
    first === 101 &&
    text.charCodeAt(i + 1) === 118 &&
    text.charCodeAt(i + 2) === 101 &&
    text.charCodeAt(i + 3) === 110 &&
    text.charCodeAt(i + 4) === 116 &&
    text.charCodeAt(i + 5) === COLON
  );
}

/** {@link isEventPrefix} on the bytes of an aligned read. */
function isEventPrefixInBytes(bytes: Uint8Array, i: number, first: number): boolean {
  return first === 101 && bytes[i + 1] === 118 && bytes[i + 2] === 101 && bytes[i + 3] === 110 && bytes[i + 4] === 116 && bytes[i + 5] === COLON;
}

/**
 * Whether the line at `i` starts with `id:` (see {@link isDataPrefix}).
 * @returns true for an `id` field with a colon
 */
function isIdPrefix(text: string, i: number, first: number): boolean {
  // i d :
  return first === 105 && text.charCodeAt(i + 1) === 100 && text.charCodeAt(i + 2) === COLON;
}

/** {@link isIdPrefix} on the bytes of an aligned read. */
function isIdPrefixInBytes(bytes: Uint8Array, i: number, first: number): boolean {
  return first === 105 && bytes[i + 1] === 100 && bytes[i + 2] === COLON;
}

/**
 * Where a field's value starts: after its colon, and after one space following the colon.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @param colon - the index of the colon that ends the field name
 * @param end - the end of the line, or any index the text has a code unit at (no read past it)
 * @returns the index of the value's first code unit (`end` or more for an empty value)
 */
function valueStart(text: string, colon: number, end: number): number {
  return colon + 1 < end && text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
}

/** {@link valueStart} on the bytes of an aligned read, where the caller knows `colon + 1` is inside them. */
function valueStartInBytes(bytes: Uint8Array, colon: number): number {
  return bytes[colon + 1] === SPACE ? colon + 2 : colon + 1;
}

// Field rules. Each is the spec's rule for one field, and the only place it is written.
// @see https://html.spec.whatwg.org/multipage/server-sent-events.html#processField

/**
 * The data buffer after a `data` field. The spec appends the value and a LF, and drops the last LF
 * at dispatch; joining with LF is the same. `undefined` is a buffer no `data` field has touched:
 * such an event is not dispatched, while one empty `data` line makes an event with `''`.
 * @param buffer - the data so far
 * @param value - the field's value
 * @returns the new data buffer
 */
function appendData(buffer: string | undefined, value: string): string {
  return buffer === undefined ? value : buffer + '\n' + value;
}

/**
 * The ID buffer after an `id` field: its value, unless that contains NUL, which makes the field
 * ignored. The ID buffer is not reset at dispatch, so later events keep reporting it.
 * @param current - the ID buffer
 * @param value - the field's value
 * @returns the new ID buffer
 */
function nextIdBuffer(current: string, value: string): string {
  return value.indexOf(NUL) === -1 ? value : current;
}

/**
 * The reconnection time a `retry` field sets: only a value of ASCII digits counts.
 * @param value - the field's value
 * @returns milliseconds, or `undefined` when the field is to be ignored
 */
function retryTime(value: string): number | undefined {
  return ASCII_DIGITS.test(value) ? Number.parseInt(value, 10) : undefined;
}

/**
 * Dispatches the event at a blank line: none when no `data` field came (the data buffer is
 * `undefined`), else an event of type `message` when the event type buffer is empty. The caller
 * sets the last event ID from the ID buffer first, and empties the data and event type buffers
 * after, whether or not an event went out.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
 * @param onEvent - the parser's callback
 * @param type - the event type buffer
 * @param data - the data buffer
 * @param id - the last event ID
 */
function dispatchEvent(onEvent: ParserOptions['onEvent'], type: string, data: string | undefined, id: string): void {
  if (data !== undefined) onEvent?.({ event: type === '' ? DEFAULT_EVENT_TYPE : type, data, id });
}

/**
 * Creates a push parser for one event stream at a time.
 * @param options - callbacks (`onEvent`, `onRetry`, `onComment`, `onError`), the starting
 * `lastEventId` and `maxBufferSize`
 * @returns the parser: `feed` each read, `end` at the end of the stream, `reset` to start over
 * @throws TypeError when `options` is a function, RangeError when `maxBufferSize` is not a positive number
 * @example
 * ```ts
 * const parser = createParser({ onEvent: (event) => console.log(event.event, event.data) });
 * for await (const chunk of response.body) parser.feed(chunk);
 * parser.end();
 * ```
 */
export function createParser(options: ParserOptions = {}): EventSourceParser {
  if (typeof options === 'function') {
    throw new TypeError('Expected `options` to be an object, got a function. Did you mean `createParser({ onEvent: fn })`?');
  }
  const { onEvent, onRetry, onComment, onError } = options;
  const maxBufferSize = options.maxBufferSize ?? Infinity;
  if (typeof maxBufferSize !== 'number' || !(maxBufferSize > 0)) {
    throw new RangeError(`Expected \`maxBufferSize\` to be a positive number of characters, got ${String(maxBufferSize)} (${typeof maxBufferSize}).`);
  }
  // The limit as a small integer: compared on every line, a Smi keeps the comparison an integer one
  // (measured: comparing with `Infinity` cost the loops several percent). 2^30 − 1 characters is
  // more than a V8 string can hold, so it is no limit.
  const limit = Math.min(Math.floor(maxBufferSize), MAX_SMALL_INTEGER);

  // The spec's buffers. `lastEventId` is the event source's "last event ID string", set from
  // `idBuffer` each time a blank line is reached (even when no event is dispatched). `data` is
  // `undefined` until a `data` field arrives (see `appendData`).
  let lastEventId = options.lastEventId ?? '';
  let idBuffer = lastEventId;
  let data: string | undefined;
  let eventType = '';

  // Line assembly across reads. A line that spans reads is kept as fragments and joined once its
  // terminator arrives: concatenating on every read would re-copy it each time (quadratic). Their
  // total length is checked against the size limit as each is kept (inline: a call to a closure,
  // one per parser, costs more than the check).
  const partial: string[] = [];
  let partialLength = 0;
  // Set when a line or an event went past `maxBufferSize`: `feed` throws until `reset`.
  let stopped = false;
  // The previous read ended with CR: a LF opening this read belongs to the same CRLF terminator.
  let skipLineFeed = false;
  let bomPending = true;

  // Bytes are decoded a read at a time without `stream: true`, which in Node skips the streaming
  // bookkeeping (about a fifth of the cost of decoding a read of a few hundred bytes) and the
  // joining of a cut character's string to the read's, which the first search would then copy
  // again. The parser holds back a cut character's first bytes itself (see `incompleteTail`) and
  // puts them before the next read, in one buffer reused for this. Measured, decoding and then
  // searching the text (memchr-fast `String#indexOf`) beats searching the bytes first
  // (`Uint8Array#indexOf` is a plain loop). `ignoreBOM: true` keeps U+FEFF in the output: only
  // the stream's first one is ours to drop.
  let decoder: TextDecoder | undefined;
  const held = new Uint8Array(3);
  let heldLength = 0;
  let joined: Uint8Array = new Uint8Array(0);
  // The last event type of an aligned read (see `parseByteLines`), with its bytes.
  let lastType = '';
  const lastTypeBytes = new Uint8Array(32);
  let lastTypeLength = -1;
  // Text reads made into bytes for `parseByteLines` (see `asciiBytes`): one buffer, reused, of at most
  // MAX_ASCII_COPY bytes.
  let encoder: TextEncoder | undefined;
  let scratch = new Uint8Array(0);
  let asciiSkip = 0;
  let asciiRetryAfter = ASCII_RETRY_AFTER;

  /**
   * The hot loop keeps the parser's state in locals (a `try/finally` to write it back measured 8%
   * slower). So that a throwing callback leaves a consistent state, it clears the stored fields on
   * entry, stores them around `parseLine` and the ID buffer in `dispatch`, and stores everything
   * when it returns.
   */
  function clearPending(): void {
    eventType = '';
    data = undefined;
  }

  /**
   * Processes a field other than a comment. Field names are compared literally, with no case
   * folding; unknown fields and invalid `retry` values are ignored, and reported to `onError`.
   * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#processField
   */
  function processField(field: string, value: string, line: string): void {
    switch (field) {
      case 'data':
        data = appendData(data, value);
        break;
      case 'event':
        eventType = value;
        break;
      case 'id':
        idBuffer = nextIdBuffer(idBuffer, value);
        break;
      case 'retry': {
        const time = retryTime(value);
        if (time === undefined) onError?.(new SseParseError('invalid-retry', field, value, line));
        else onRetry?.(time);
        break;
      }
      default:
        onError?.(new SseParseError('unknown-field', field, value, line));
    }
  }

  /**
   * The line `text[start, end)` by the spec's general rule: a comment, or a field split at the
   * first colon. Serves the lines the hot loops do not take apart themselves: comments, `retry`,
   * unknown fields, a field without a colon, and lines too short for their field-name tests.
   * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
   */
  function parseLine(text: string, start: number, end: number): void {
    // Sliced first: a search for the colon must not run on into the following lines.
    const line = text.slice(start, end);
    const length = line.length;
    const colon = line.indexOf(':');
    if (colon === 0) {
      // A comment: ignored by the spec, reported to `onComment`.
      onComment?.(line.slice(valueStart(line, 0, length)));
    } else if (colon === -1) {
      // A line without a colon is a field with an empty value.
      processField(line, '', line);
    } else {
      processField(line.slice(0, colon), line.slice(valueStart(line, colon, length)), line);
    }
  }

  /**
   * A line or an event's data is longer than `maxBufferSize`: everything buffered is dropped, the
   * parser stops, and the error goes to `onError`, or is thrown when there is none.
   * @param size - the characters buffered when the limit was crossed
   */
  function overflow(size: number): void {
    reset();
    stopped = true;
    const error = new SseParseError('max-buffer-size-exceeded', '', '', '', { size, maxBufferSize });
    if (onError === undefined) throw error;
    onError(error);
  }

  /**
   * The lines of `text` from `pos`, every one ending with LF (`feedText` has made CR and CRLF into
   * LF); returns where the unterminated rest starts, or -1 when the parser stopped at
   * `maxBufferSize`. `data`, `event` and `id` fields, most of a stream, are taken apart here (see
   * {@link isDataPrefix}): a `data` or `event` line costs one `indexOf('\n')`, memchr-fast, and an
   * `id` value, short, is read code unit by code unit. Other lines go to {@link parseLine}. This loop serves reads that are not ASCII; an aligned read goes to
   * {@link parseByteLines}, the same loop reading bytes. The state is held in locals for the loop
   * and written back after it (and around `parseLine`): captured variables that change live in a
   * heap context, where every store of a string pays a write barrier.
   */
  function parseTextLines(text: string, pos: number): number {
    const length = text.length;
    let type = eventType;
    let id = idBuffer;
    let buffered = data;
    clearPending();
    // Only a read longer than the size limit can hold a whole line longer than it.
    const checkLines = length - pos > limit;
    while (pos < length) {
      const first = text.charCodeAt(pos);
      if (first === LF) {
        // A blank line. (A call to a closure here, one per parser, measured 25% slower.)
        pos++;
        lastEventId = idBuffer = id;
        dispatchEvent(onEvent, type, buffered, id);
        type = '';
        buffered = undefined;
        continue;
      }
      // The field-name tests run only where the next 7 code units exist: reading past the end of
      // a string deoptimises V8's `charCodeAt` (a shorter rest is a line of its own, for `parseLine`).
      const room = pos + 7 < length;
      let end: number;
      if (room && isDataPrefix(text, pos, first)) {
        const start = valueStart(text, pos + 4, length);
        end = text.indexOf('\n', start);
        if (end === -1) break;
        buffered = appendData(buffered, text.slice(start, end));
        // The size limit on the event's data, which grows only here and in `parseLine`.
        if (buffered.length > limit) {
          overflow(buffered.length);
          return -1;
        }
      } else if (room && isEventPrefix(text, pos, first)) {
        const start = valueStart(text, pos + 5, length);
        end = text.indexOf('\n', start);
        if (end === -1) break;
        type = text.slice(start, end);
      } else if (room && isIdPrefix(text, pos, first)) {
        const start = valueStart(text, pos + 2, length);
        // IDs are short: read up to the LF, or to a control character such as NUL (which calls for
        // `nextIdBuffer`; a value without one, it would keep as it is).
        end = start;
        while (end < length && text.charCodeAt(end) > LF) end++;
        if (end < length && text.charCodeAt(end) === LF) id = text.slice(start, end);
        else {
          end = text.indexOf('\n', end);
          if (end === -1) break;
          id = nextIdBuffer(id, text.slice(start, end));
        }
      } else {
        end = text.indexOf('\n', pos);
        if (end === -1) break;
        // Checked before: an over-long comment or unknown field is not reported to callbacks.
        if (end - pos > limit) {
          overflow(end - pos);
          return -1;
        }
        eventType = type;
        idBuffer = id;
        data = buffered;
        parseLine(text, pos, end);
        type = eventType;
        id = idBuffer;
        buffered = data;
        clearPending();
        if (buffered !== undefined && buffered.length > limit) {
          overflow(buffered.length);
          return -1;
        }
      }
      // The size limit on a line that came whole in this read (one that spans reads is checked as
      // its pieces are kept, in `feedText`).
      if (checkLines && end - pos > limit) {
        overflow(end - pos);
        return -1;
      }
      pos = end + 1;
    }
    eventType = type;
    idBuffer = id;
    data = buffered;
    return pos;
  }

  /**
   * {@link parseTextLines} for a read whose bytes line up with its text, one byte per character
   * (see `feed`): field names and `id` values are read from the bytes, about ten times cheaper
   * than `charCodeAt`, and an `event` value equal to the last one is recognised from them and reuses
   * its string; line ends of `data` lines still come from `indexOf('\n')` on the text, which is
   * memchr-fast where a byte loop is not.
   */
  function parseByteLines(text: string, bytes: Uint8Array, pos: number): number {
    const length = text.length;
    let type = eventType;
    let id = idBuffer;
    let buffered = data;
    clearPending();
    // Only a read longer than the size limit can hold a whole line longer than it.
    const checkLines = length - pos > limit;
    while (pos < length) {
      const first = bytes[pos] as number;
      if (first === LF) {
        // A blank line. (A call to a closure here, one per parser, measured 25% slower.)
        pos++;
        lastEventId = idBuffer = id;
        dispatchEvent(onEvent, type, buffered, id);
        type = '';
        buffered = undefined;
        continue;
      }
      const room = pos + 7 < length;
      let end: number;
      if (room && isDataPrefixInBytes(bytes, pos, first)) {
        const start = valueStartInBytes(bytes, pos + 4);
        end = text.indexOf('\n', start);
        if (end === -1) break;
        buffered = appendData(buffered, text.slice(start, end));
        // The size limit on the event's data, which grows only here and in `parseLine`.
        if (buffered.length > limit) {
          overflow(buffered.length);
          return -1;
        }
      } else if (room && isEventPrefixInBytes(bytes, pos, first)) {
        const start = valueStartInBytes(bytes, pos + 5);
        // Streams repeat a few event types: one equal to the last is recognised from its bytes
        // and reuses that string, with no search and no slice.
        const n = lastTypeLength;
        let same = n >= 0 && start + n < length && bytes[start + n] === LF;
        for (let i = 0; same && i < n; i++) same = bytes[start + i] === lastTypeBytes[i];
        if (same) {
          end = start + n;
          type = lastType;
        } else {
          end = text.indexOf('\n', start);
          if (end === -1) break;
          type = text.slice(start, end);
          if (end - start <= lastTypeBytes.length) {
            lastTypeBytes.set(bytes.subarray(start, end));
            lastTypeLength = end - start;
            lastType = type;
          }
        }
      } else if (room && isIdPrefixInBytes(bytes, pos, first)) {
        const start = valueStartInBytes(bytes, pos + 2);
        end = start;
        while (end < length && (bytes[end] as number) > LF) end++;
        if (end < length && bytes[end] === LF) id = text.slice(start, end);
        else {
          end = text.indexOf('\n', end);
          if (end === -1) break;
          id = nextIdBuffer(id, text.slice(start, end));
        }
      } else {
        end = text.indexOf('\n', pos);
        if (end === -1) break;
        // Checked before: an over-long comment or unknown field is not reported to callbacks.
        if (end - pos > limit) {
          overflow(end - pos);
          return -1;
        }
        eventType = type;
        idBuffer = id;
        data = buffered;
        parseLine(text, pos, end);
        type = eventType;
        id = idBuffer;
        buffered = data;
        clearPending();
        if (buffered !== undefined && buffered.length > limit) {
          overflow(buffered.length);
          return -1;
        }
      }
      // The size limit on a line that came whole in this read (one that spans reads is checked as
      // its pieces are kept, in `feedText`).
      if (checkLines && end - pos > limit) {
        overflow(end - pos);
        return -1;
      }
      pos = end + 1;
    }
    eventType = type;
    idBuffer = id;
    data = buffered;
    return pos;
  }

  /**
   * Parses the next read.
   * @param text - the read, decoded
   * @param aligned - its bytes, when byte `i` is character `i` for every `i`
   * @param fromText - the read was fed as text (its bytes may then be made, see `asciiBytes`)
   */
  function feedText(text: string, aligned: Uint8Array | undefined, fromText: boolean): void {
    let length = text.length;
    if (length === 0) return;
    let pos = 0;
    if (bomPending) {
      // One byte order mark at the start of the stream is dropped.
      // @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
      bomPending = false;
      if (text.charCodeAt(0) === BYTE_ORDER_MARK) pos = 1;
    }
    if (skipLineFeed) {
      skipLineFeed = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }
    // Lines end with CRLF, LF or CR. A read with a CR (rare: most servers send LF) has its CR and
    // CRLF endings made into LF, so that everything after this deals with LF alone. A CR ending
    // the read may be half of a CRLF: a LF opening the next read is then not a blank line.
    // @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
    if (text.indexOf('\r', pos) !== -1) {
      skipLineFeed = text.charCodeAt(length - 1) === CR;
      text = text.slice(pos).replace(CR_LINE_ENDINGS, '\n');
      length = text.length;
      pos = 0;
      // The bytes no longer line up with the text; `asciiBytes` may make new ones.
      aligned = undefined;
      fromText = true;
    }

    if (partial.length > 0) {
      const end = text.indexOf('\n', pos);
      if (end === -1) {
        if (pos < length) {
          partial.push(pos === 0 ? text : text.slice(pos));
          partialLength += length - pos;
          if (partialLength > limit) overflow(partialLength);
        }
        return;
      }
      // The line, with its LF, goes through the same loop as the lines that come whole.
      partial.push(text.slice(pos, end + 1));
      const line = partial.join('');
      partial.length = 0;
      partialLength = 0;
      if (line.length - 1 > limit) return overflow(line.length - 1);
      if (parseTextLines(line, 0) === -1) return;
      pos = end + 1;
    }

    if (fromText && length - pos >= MIN_ASCII_COPY) aligned = asciiBytes(text);
    pos = aligned === undefined ? parseTextLines(text, pos) : parseByteLines(text, aligned, pos);
    if (pos !== -1 && pos < length) {
      partial.push(pos === 0 ? text : text.slice(pos));
      partialLength = length - pos;
      if (partialLength > limit) overflow(partialLength);
    }
  }

  /**
   * Decodes a read and parses it. The text is the read's bytes after those held back from the last
   * read and before those held back for the next; when it is as long as they are, it has one
   * character per byte (each step of the decoder turns n bytes into at most n UTF-16 units), and the
   * bytes go to `feedText` as well.
   */
  function feedBytes(bytes: Uint8Array): void {
    let input = bytes;
    let length = bytes.length;
    if (heldLength > 0) {
      length += heldLength;
      input = joined.length >= length ? joined : new Uint8Array(Math.max(length, Math.min(2 * joined.length, MAX_JOIN_COPY)));
      if (input.length <= MAX_JOIN_COPY) joined = input;
      for (let i = 0; i < heldLength; i++) input[i] = held[i] as number;
      input.set(bytes, heldLength);
      heldLength = 0;
    }
    const tail = incompleteTail(input, length);
    for (let i = 0; i < tail; i++) held[i] = input[length - tail + i] as number;
    heldLength = tail;
    length -= tail;
    if (length === 0) return;
    decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
    const text = decoder.decode(length === input.length ? input : input.subarray(0, length));
    feedText(text, text.length === length ? input : undefined, false);
  }

  /**
   * The bytes of a text read when it is all ASCII (one byte per character), for
   * {@link parseByteLines}: `encodeInto` is a vectorised copy, cheaper than the `charCodeAt`
   * calls it saves. After a read that is not ASCII the next ones are not tried for a while, longer
   * each time: a stream in another script would pay for the copy on every read and never use it.
   */
  function asciiBytes(text: string): Uint8Array | undefined {
    if (asciiSkip > 0) {
      asciiSkip--;
      return undefined;
    }
    const length = text.length;
    if (length > MAX_ASCII_COPY) return undefined;
    if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
    const { read, written } = (encoder ??= new TextEncoder()).encodeInto(text, scratch);
    if (read === length && written === length) {
      asciiRetryAfter = ASCII_RETRY_AFTER;
      return scratch;
    }
    asciiSkip = asciiRetryAfter;
    asciiRetryAfter = Math.min(2 * asciiRetryAfter, ASCII_RETRY_AFTER_MAX);
    return undefined;
  }

  function reset(): void {
    // A partial line and an undispatched event are discarded: the spec dispatches only on a blank line.
    heldLength = 0;
    partial.length = 0;
    partialLength = 0;
    stopped = false;
    skipLineFeed = false;
    bomPending = true;
    data = undefined;
    eventType = '';
    // Deliberate: a new stream starts with the ID buffer at the last event ID, as browsers do on
    // reconnect, so events before the server's first `id:` keep reporting it.
    idBuffer = lastEventId;
  }

  return {
    feed(chunk: string | Uint8Array): void {
      if (stopped) {
        throw new Error(`Cannot feed the SSE parser: it stopped at a line or event longer than maxBufferSize (${maxBufferSize} characters). Call \`reset()\` to parse a new stream.`);
      }
      if (typeof chunk === 'string') feedText(chunk, undefined, true);
      else if (chunk instanceof Uint8Array) feedBytes(chunk);
      else {
        throw new TypeError(`Expected a string or a Uint8Array, got ${chunk === null ? 'null' : typeof chunk}.`);
      }
    },
    end: reset,
    reset,
    get lastEventId(): string {
      return lastEventId;
    },
  };
}
