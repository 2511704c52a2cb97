/**
 * The SSE parser: `text/event-stream` bytes or text to events, exactly as the WHATWG HTML
 * "interpreting an event stream" rules say, in time linear in the input whatever the read sizes.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */
import { SseParseError } from './errors.ts';
import type { EventSourceParser, ParserOptions, SseEvent } from './types.ts';

const LF = 10;
const SPACE = 32;
const COLON = 58;
const NUL = '\0';
const BYTE_ORDER_MARK = 0xfeff;
const DEFAULT_EVENT_TYPE = 'message';
const ASCII_DIGITS = /^[0-9]+$/;

/** Text reads shorter than this, or longer than the next, are not copied to bytes (see `asciiBytes`). */
const MIN_ASCII_COPY = 64;
const MAX_ASCII_COPY = 64 * 1024;
/** Text reads skipped by `asciiBytes` after one that was not ASCII. */
const ASCII_RETRY_AFTER = 16;
const STREAM: TextDecodeOptions = { stream: true };

/**
 * Whether `bytes` ends with an ASCII byte or a whole multi-byte UTF-8 sequence, so that a streaming
 * decoder holds nothing back after it. Errs on the side of `false` (the caller then decodes in
 * streaming mode, which is always right): a read that ends on a lead byte, a cut sequence, or stray
 * continuation bytes.
 * @param bytes - a read
 * @param length - its length, at least 1
 * @returns true when the read ends on a character boundary
 */
function endsOnCharacterBoundary(bytes: Uint8Array, length: number): boolean {
  const last = bytes[length - 1] ?? 0;
  if (last < 0x80) return true;
  if (last >= 0xc0) return false;
  // Walk back over up to three continuation bytes to the lead byte.
  for (let i = length - 2; i >= 0 && i >= length - 4; i--) {
    const byte = bytes[i] ?? 0;
    if (byte >= 0xc0) return (byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2) === length - i;
    if (byte < 0x80) return false;
  }
  return false;
}

/**
 * Creates a push parser for one event stream at a time.
 * @param options - callbacks (`onEvent`, `onRetry`, `onComment`, `onError`) and the starting `lastEventId`
 * @returns the parser: `feed` each read, `end` at the end of the stream, `reset` to start over
 * @throws TypeError when `options` is a function
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

  // The spec's buffers. `lastEventId` is the event source's "last event ID string", set from
  // `idBuffer` each time a blank line is reached (even when no event is dispatched).
  let lastEventId = options.lastEventId ?? '';
  let idBuffer = lastEventId;
  let data = '';
  let dataLines = 0;
  let eventType = '';

  // Line assembly across reads. A line that spans reads is kept as fragments and joined once its
  // terminator arrives: concatenating on every read would re-copy it each time (quadratic).
  const partial: string[] = [];
  // The previous read ended with CR: a LF opening this read belongs to the same CRLF terminator.
  let skipLineFeed = false;
  let bomPending = true;

  // One streaming decoder per stream. Each read is decoded as it comes: measured, decoding and then
  // searching the text (memchr-fast `String#indexOf`) beats searching the bytes first
  // (`Uint8Array#indexOf` is a plain loop). `ignoreBOM: true` keeps U+FEFF in the output: only
  // the stream's first one is ours to drop.
  let decoder: TextDecoder | undefined;
  // The decoder may hold back the start of a character cut at the end of the last read. False only
  // when it surely does not (see `endsOnCharacterBoundary`).
  let decoderPending = false;
  // The last event type of an aligned read (see `parseAlignedLines`), with its bytes.
  let lastType = '';
  const lastTypeBytes = new Uint8Array(32);
  let lastTypeLength = -1;
  // Text reads made into bytes for `parseAlignedLines` (see `asciiBytes`): one buffer, reused, of
  // at most MAX_ASCII_COPY bytes.
  let encoder: TextEncoder | undefined;
  let scratch = new Uint8Array(0);
  let asciiSkip = 0;

  /**
   * The hot loops keep the parser's state in locals (a `try/finally` to write it back measured 8%
   * slower). So that a throwing `onEvent` leaves the state it had just after the dispatch, they
   * clear the stored fields on entry (and after `parseLine`) and store the ID buffer before each
   * call; they store everything when they return.
   */
  function clearPending(): void {
    eventType = '';
    data = '';
    dataLines = 0;
  }

  function dispatch(): void {
    // @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
    lastEventId = idBuffer;
    if (dataLines === 0) {
      eventType = '';
      return;
    }
    const event: SseEvent = { event: eventType === '' ? DEFAULT_EVENT_TYPE : eventType, data, id: lastEventId };
    data = '';
    dataLines = 0;
    eventType = '';
    onEvent?.(event);
  }

  function appendData(value: string): void {
    data = dataLines === 0 ? value : data + '\n' + value;
    dataLines++;
  }

  /** Handles the line `text[start, end)`; `end` is a terminator's index or `text.length`. */
  function parseLine(text: string, start: number, end: number): void {
    if (start === end) {
      dispatch();
      return;
    }
    const first = text.charCodeAt(start);
    // The character at `end` is CR, LF or past the end, never a space or a letter, so these
    // look-ahead comparisons cannot read into the next line.
    if (first === 100 && text.charCodeAt(start + 1) === 97 && text.charCodeAt(start + 2) === 116 && text.charCodeAt(start + 3) === 97 && text.charCodeAt(start + 4) === COLON) {
      appendData(text.slice(text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end));
      return;
    }
    if (first === 101 && text.charCodeAt(start + 1) === 118 && text.charCodeAt(start + 2) === 101 && text.charCodeAt(start + 3) === 110 && text.charCodeAt(start + 4) === 116 && text.charCodeAt(start + 5) === COLON) {
      const valueStart = text.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6;
      eventType = text.slice(valueStart, end);
      return;
    }
    if (first === 105 && text.charCodeAt(start + 1) === 100 && text.charCodeAt(start + 2) === COLON) {
      const value = text.slice(text.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end);
      if (value.indexOf(NUL) === -1) idBuffer = value;
      return;
    }
    if (first === COLON) {
      if (onComment !== undefined) onComment(text.slice(text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end));
      return;
    }
    // Rarer lines: split at the first colon, drop one space after it.
    // @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
    const line = text.slice(start, end);
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    }
    // Field names are compared literally, with no case folding.
    switch (field) {
      case 'data':
        appendData(value);
        break;
      case 'event':
        eventType = value;
        break;
      case 'id':
        // An id containing NUL is ignored; otherwise it sets the ID buffer, which is not reset
        // on dispatch, so later events keep reporting it.
        if (value.indexOf(NUL) === -1) idBuffer = value;
        break;
      case 'retry':
        if (ASCII_DIGITS.test(value)) onRetry?.(Number.parseInt(value, 10));
        else onError?.(new SseParseError('invalid-retry', field, value, line));
        break;
      default:
        onError?.(new SseParseError('unknown-field', field, value, line));
    }
  }

  /**
   * Lines of `text` from `pos` when the read has no CR, so every line ends at a LF. Returns where
   * the unterminated rest starts. A blank line is seen from its first character; a `data:` or
   * `event:` line costs one `indexOf('\n')`; an `id:` value, short, is read character by
   * character, checking for NUL on the way. This loop serves reads that are not ASCII (an ASCII read
   * goes to {@link parseAlignedLines}), where `indexOf` on a two-byte string is dearer: measured
   * +20% on a Chinese LLM stream; comparing an `event:` value with the previous one here gained
   * nothing (`charCodeAt` costs about 2.5 ns a character). The parser's state is held in locals for
   * the loop and written back after it (and around `parseLine`): captured variables that change
   * live in a heap context, where every store of a string pays a write barrier.
   */
  function parseLineFeedLines(text: string, pos: number): number {
    const length = text.length;
    let type = eventType;
    let id = idBuffer;
    let buffered = data;
    let lines = dataLines;
    clearPending();
    while (pos < length) {
      const first = text.charCodeAt(pos);
      // Reading past the end of a string deoptimises V8's `charCodeAt`, so the field-name checks
      // below run only where the next 7 characters exist (a shorter rest is a line of its own
      // and goes to the general branch).
      const room = pos + 7 < length;
      if (first === LF) {
        // A blank line. @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
        pos++;
        lastEventId = id;
        if (lines > 0) {
          const event: SseEvent = { event: type === '' ? DEFAULT_EVENT_TYPE : type, data: buffered, id };
          buffered = '';
          lines = 0;
          type = '';
          idBuffer = id;
          onEvent?.(event);
        } else {
          type = '';
        }
      } else if (room && first === 100 && text.charCodeAt(pos + 1) === 97 && text.charCodeAt(pos + 2) === 116 && text.charCodeAt(pos + 3) === 97 && text.charCodeAt(pos + 4) === COLON) {
        const valueStart = text.charCodeAt(pos + 5) === SPACE ? pos + 6 : pos + 5;
        const lf = text.indexOf('\n', valueStart);
        if (lf === -1) break;
        const value = text.slice(valueStart, lf);
        if (lines === 0 && lf + 1 < length && text.charCodeAt(lf + 1) === LF) {
          // The common one-line event `data: …\n\n`: dispatch it without touching the data buffer.
          pos = lf + 2;
          lastEventId = id;
          const event: SseEvent = { event: type === '' ? DEFAULT_EVENT_TYPE : type, data: value, id };
          type = '';
          idBuffer = id;
          onEvent?.(event);
          continue;
        }
        buffered = lines === 0 ? value : buffered + '\n' + value;
        lines++;
        pos = lf + 1;
      } else if (room && first === 101 && text.charCodeAt(pos + 1) === 118 && text.charCodeAt(pos + 2) === 101 && text.charCodeAt(pos + 3) === 110 && text.charCodeAt(pos + 4) === 116 && text.charCodeAt(pos + 5) === COLON) {
        const valueStart = text.charCodeAt(pos + 6) === SPACE ? pos + 7 : pos + 6;
        const lf = text.indexOf('\n', valueStart);
        if (lf === -1) break;
        type = text.slice(valueStart, lf);
        pos = lf + 1;
      } else if (room && first === 105 && text.charCodeAt(pos + 1) === 100 && text.charCodeAt(pos + 2) === COLON) {
        const valueStart = text.charCodeAt(pos + 3) === SPACE ? pos + 4 : pos + 3;
        let end = valueStart;
        let nul = false;
        while (end < length) {
          const code = text.charCodeAt(end);
          if (code === LF) break;
          if (code === 0) nul = true;
          end++;
        }
        if (end === length) break;
        // An id containing NUL is ignored.
        if (!nul) id = text.slice(valueStart, end);
        pos = end + 1;
      } else {
        const lf = text.indexOf('\n', pos);
        if (lf === -1) break;
        eventType = type;
        idBuffer = id;
        data = buffered;
        dataLines = lines;
        parseLine(text, pos, lf);
        type = eventType;
        id = idBuffer;
        buffered = data;
        lines = dataLines;
        clearPending();
        pos = lf + 1;
      }
    }
    eventType = type;
    idBuffer = id;
    data = buffered;
    dataLines = lines;
    return pos;
  }

  /**
   * {@link parseLineFeedLines} for a read whose bytes line up with its text, one byte per character
   * (see `feed`): field names, the blank line after `data:` and `id:` values are read from the bytes,
   * about ten times cheaper than `charCodeAt`; line ends of `data:` lines still come from
   * `indexOf('\n')` on the text, which is memchr-fast where a byte loop is not.
   */
  function parseAlignedLines(text: string, bytes: Uint8Array, pos: number): number {
    const length = text.length;
    let type = eventType;
    let id = idBuffer;
    let buffered = data;
    let lines = dataLines;
    clearPending();
    while (pos < length) {
      const first = bytes[pos];
      const room = pos + 7 < length;
      if (first === LF) {
        pos++;
        lastEventId = id;
        if (lines > 0) {
          const event: SseEvent = { event: type === '' ? DEFAULT_EVENT_TYPE : type, data: buffered, id };
          buffered = '';
          lines = 0;
          type = '';
          idBuffer = id;
          onEvent?.(event);
        } else {
          type = '';
        }
      } else if (room && first === 100 && bytes[pos + 1] === 97 && bytes[pos + 2] === 116 && bytes[pos + 3] === 97 && bytes[pos + 4] === COLON) {
        const valueStart = bytes[pos + 5] === SPACE ? pos + 6 : pos + 5;
        const lf = text.indexOf('\n', valueStart);
        if (lf === -1) break;
        const value = text.slice(valueStart, lf);
        if (lines === 0 && lf + 1 < length && bytes[lf + 1] === LF) {
          pos = lf + 2;
          lastEventId = id;
          const event: SseEvent = { event: type === '' ? DEFAULT_EVENT_TYPE : type, data: value, id };
          type = '';
          idBuffer = id;
          onEvent?.(event);
          continue;
        }
        buffered = lines === 0 ? value : buffered + '\n' + value;
        lines++;
        pos = lf + 1;
      } else if (room && first === 101 && bytes[pos + 1] === 118 && bytes[pos + 2] === 101 && bytes[pos + 3] === 110 && bytes[pos + 4] === 116 && bytes[pos + 5] === COLON) {
        const valueStart = bytes[pos + 6] === SPACE ? pos + 7 : pos + 6;
        // Streams repeat a few event types: one equal to the last is recognised from its bytes
        // and reuses that string, with no search and no slice.
        const n = lastTypeLength;
        let same = n >= 0 && valueStart + n < length && bytes[valueStart + n] === LF;
        for (let i = 0; same && i < n; i++) same = bytes[valueStart + i] === lastTypeBytes[i];
        if (same) {
          type = lastType;
          pos = valueStart + n + 1;
        } else {
          const lf = text.indexOf('\n', valueStart);
          if (lf === -1) break;
          type = text.slice(valueStart, lf);
          if (lf - valueStart <= lastTypeBytes.length) {
            lastTypeBytes.set(bytes.subarray(valueStart, lf));
            lastTypeLength = lf - valueStart;
            lastType = type;
          }
          pos = lf + 1;
        }
      } else if (room && first === 105 && bytes[pos + 1] === 100 && bytes[pos + 2] === COLON) {
        const valueStart = bytes[pos + 3] === SPACE ? pos + 4 : pos + 3;
        let end = valueStart;
        let nul = false;
        while (end < length) {
          const code = bytes[end];
          if (code === LF) break;
          if (code === 0) nul = true;
          end++;
        }
        if (end === length) break;
        // An id containing NUL is ignored.
        if (!nul) id = text.slice(valueStart, end);
        pos = end + 1;
      } else {
        const lf = text.indexOf('\n', pos);
        if (lf === -1) break;
        eventType = type;
        idBuffer = id;
        data = buffered;
        dataLines = lines;
        parseLine(text, pos, lf);
        type = eventType;
        id = idBuffer;
        buffered = data;
        lines = dataLines;
        clearPending();
        pos = lf + 1;
      }
    }
    eventType = type;
    idBuffer = id;
    data = buffered;
    dataLines = lines;
    return pos;
  }

  /**
   * Parses the next read.
   * @param text - the read, decoded
   * @param aligned - its bytes, when byte `i` is character `i` for every `i`
   * @param fromText - the read was fed as text (its bytes may then be made, see `asciiBytes`)
   */
  function feedText(text: string, aligned: Uint8Array | undefined, fromText: boolean): void {
    const length = text.length;
    if (length === 0) return;
    let pos = 0;
    if (bomPending) {
      bomPending = false;
      if (text.charCodeAt(0) === BYTE_ORDER_MARK) pos = 1;
    }
    if (skipLineFeed) {
      skipLineFeed = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }
    // Each search result is reused until the scan passes it, so every character is looked at a
    // bounded number of times.
    let cr = text.indexOf('\r', pos);

    if (partial.length > 0) {
      let end = text.indexOf('\n', pos);
      if (cr !== -1 && (end === -1 || cr < end)) end = cr;
      if (end === -1) {
        if (pos < length) partial.push(pos === 0 ? text : text.slice(pos));
        return;
      }
      partial.push(text.slice(pos, end));
      const line = partial.join('');
      partial.length = 0;
      parseLine(line, 0, line.length);
      if (end === cr) {
        if (end + 1 === length) {
          skipLineFeed = true;
          return;
        }
        pos = text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      } else {
        pos = end + 1;
      }
    }

    // A read without CR (the usual case) needs no CR bookkeeping at all.
    if (cr === -1) {
      if (fromText && length - pos >= MIN_ASCII_COPY) aligned = asciiBytes(text);
      pos = aligned === undefined ? parseLineFeedLines(text, pos) : parseAlignedLines(text, aligned, pos);
      if (pos < length) partial.push(pos === 0 ? text : text.slice(pos));
      return;
    }
    let lf = text.indexOf('\n', pos);
    for (;;) {
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr === -1) {
        if (fromText && length - pos >= MIN_ASCII_COPY) aligned = asciiBytes(text);
        pos = aligned === undefined ? parseLineFeedLines(text, pos) : parseAlignedLines(text, aligned, pos);
        break;
      }
      const end = lf !== -1 && lf < cr ? lf : cr;
      parseLine(text, pos, end);
      if (end === cr) {
        if (end + 1 === length) {
          // A CR ending the read may be half of a CRLF: the line is complete, but a LF opening the
          // next read must not count as a blank line.
          skipLineFeed = true;
          return;
        }
        pos = text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      } else {
        pos = end + 1;
      }
    }
    if (pos < length) partial.push(pos === 0 ? text : text.slice(pos));
  }

  function decode(bytes: Uint8Array): string {
    decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
    const length = bytes.length;
    if (length === 0) return '';
    // A read that ends on a whole character, with nothing held back from the previous one, decodes
    // the same without `stream: true`, and that call is cheaper (in Node it skips the streaming
    // bookkeeping, about a fifth of the cost of decoding a read of a few hundred bytes).
    if (!decoderPending && endsOnCharacterBoundary(bytes, length)) return decoder.decode(bytes);
    // `stream: true` holds back a UTF-8 sequence cut at the end of the read until the next one.
    const text = decoder.decode(bytes, STREAM);
    decoderPending = !endsOnCharacterBoundary(bytes, length);
    return text;
  }

  /**
   * The bytes of a text read when it is all ASCII (one byte per character), for
   * {@link parseAlignedLines}: `encodeInto` is a vectorised copy, cheaper than the `charCodeAt`
   * calls it saves. After a read that is not ASCII the next ones are not tried for a while: a stream
   * in another script would pay for the copy on every read and never use it.
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
    if (read === length && written === length) return scratch;
    asciiSkip = ASCII_RETRY_AFTER;
    return undefined;
  }

  function reset(): void {
    // A partial line and an undispatched event are discarded: the spec dispatches only on a blank line.
    decoder = undefined;
    decoderPending = false;
    partial.length = 0;
    skipLineFeed = false;
    bomPending = true;
    data = '';
    dataLines = 0;
    eventType = '';
    // Deliberate: a new stream starts with the ID buffer at the last event ID, as browsers do on
    // reconnect, so events before the server's first `id:` keep reporting it.
    idBuffer = lastEventId;
  }

  return {
    feed(chunk: string | Uint8Array): void {
      if (typeof chunk === 'string') feedText(chunk, undefined, true);
      else if (chunk instanceof Uint8Array) {
        // With nothing held back from the last read, a text as long as its bytes has one character
        // per byte: each decoding step turns n bytes into at most n UTF-16 units (a valid sequence
        // of 2-4 bytes into 1 or 2, an invalid byte or cut sequence into one U+FFFD), so equal
        // totals mean every step was one byte to one character, at the same index.
        const fresh = !decoderPending;
        const text = decode(chunk);
        feedText(text, fresh && text.length === chunk.length ? chunk : undefined, false);
      }
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
