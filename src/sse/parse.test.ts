import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParseError } from './errors.ts';
import { createParser } from './parse.ts';
import { SseParserStream } from './parser-stream.ts';
import type { SseEvent } from './types.ts';

const encoder = new TextEncoder();

interface Output {
  events: SseEvent[];
  retries: number[];
  comments: string[];
  errors: string[];
  lastEventId: string;
}

function run(reads: (string | Uint8Array)[], lastEventId?: string): Output {
  const out: Output = { events: [], retries: [], comments: [], errors: [], lastEventId: '' };
  const parser = createParser({
    lastEventId,
    onEvent: (event) => out.events.push(event),
    onRetry: (retry) => out.retries.push(retry),
    onComment: (comment) => out.comments.push(comment),
    onError: (error) => out.errors.push(`${error.type}:${error.field}`),
  });
  for (const read of reads) parser.feed(read);
  out.lastEventId = parser.lastEventId;
  parser.end();
  return out;
}

function toBytes(input: string | number[] | Uint8Array): Uint8Array {
  if (typeof input === 'string') return encoder.encode(input);
  return input instanceof Uint8Array ? input : Uint8Array.from(input);
}

/** The stream parsed in every way it can be read: whole, split in two at every byte and every character, and one byte per read. */
function parseEverySplit(input: string | number[] | Uint8Array): Output {
  const bytes = toBytes(input);
  const whole = run([bytes]);
  for (let at = 0; at <= bytes.length; at++) {
    expect(run([bytes.subarray(0, at), bytes.subarray(at)]), `split at byte ${at}`).toEqual(whole);
  }
  expect(run(Array.from(bytes, (byte) => Uint8Array.of(byte))), 'one byte per read').toEqual(whole);
  if (typeof input === 'string') {
    for (let at = 0; at <= input.length; at++) {
      expect(run([input.slice(0, at), input.slice(at)]), `split at character ${at}`).toEqual(whole);
    }
  }
  return whole;
}

const message = (data: string, id = '', event = 'message'): SseEvent => ({ event, data, id });

describe('createParser', () => {
  it('decodes UTF-8 and joins a sequence split across reads', () => {
    expect(parseEverySplit('data: héllo 😀 世界\n\n').events).toEqual([message('héllo 😀 世界')]);
  });

  it('turns invalid UTF-8 bytes into U+FFFD', () => {
    const bytes = [...encoder.encode('data: a'), 0xff, 0x62, 0xe2, 0x82, 10, 10];
    expect(parseEverySplit(bytes).events).toEqual([message('a\uFFFDb\uFFFD')]);
  });

  it('decodes a character cut between reads as the whole stream decodes it, valid or not', () => {
    // Lead bytes with narrower second-byte ranges (E0, ED, F0, F4), cut and invalid sequences,
    // bytes that are never lead bytes, and a four-byte character (two UTF-16 units).
    const sequences = [
      [0xe0, 0xa0, 0x80],
      [0xe0, 0x9f, 0x80],
      [0xed, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x90, 0x80, 0x80],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc2, 0x80],
      [0xc1, 0xbf],
      [0xf5, 0x80, 0x80, 0x80],
      [0xe6, 0xb5, 0x41],
      [0xf0, 0x9f, 0x98],
      [0xf0, 0x9f, 0x98, 0x80],
      [0x80, 0xbf],
    ];
    for (const sequence of sequences) {
      const value = [...encoder.encode('a'), ...sequence, ...encoder.encode('b')];
      const expected = new TextDecoder().decode(Uint8Array.from(value));
      expect(parseEverySplit([...encoder.encode('data: '), ...value, 10, 10]).events, sequence.join(' ')).toEqual([message(expected)]);
    }
  });

  it('ignores one leading byte order mark and keeps any other', () => {
    expect(parseEverySplit('\uFEFFdata: a\n\n').events).toEqual([message('a')]);
    // A second BOM is part of the first line's field name, which is then unknown.
    const twice = parseEverySplit('\uFEFF\uFEFFdata: a\n\ndata: b\n\n');
    expect(twice.events).toEqual([message('b')]);
    expect(twice.errors).toEqual(['unknown-field:\uFEFFdata']);
    expect(parseEverySplit('data: a\n\n\uFEFFdata: b\n\n').events).toEqual([message('a')]);
  });

  it('accepts CRLF, LF and CR line endings, mixed', () => {
    expect(parseEverySplit('data: a\r\ndata: b\rdata: c\ndata: d\r\n\r\ndata: e\r\r').events).toEqual([message('a\nb\nc\nd'), message('e')]);
  });

  it('treats a CR ending one read and a LF opening the next as one line ending', () => {
    expect(run(['data: a\r', '\ndata: b\r', '\n\r', '\n']).events).toEqual([message('a\nb')]);
    expect(run([encoder.encode('data: a\r'), encoder.encode('\n\r'), encoder.encode('\n')]).events).toEqual([message('a')]);
    // A lone CR is still a line ending when the next read starts with something else.
    expect(run(['data: a\r', 'data: b\r', '\r']).events).toEqual([message('a\nb')]);
  });

  it('reports comments without dispatching anything', () => {
    const out = parseEverySplit(': hello\n:\n:  two spaces\ndata: x\n: inside\n\n: ping\n\n');
    expect(out.comments).toEqual(['hello', '', ' two spaces', 'inside', 'ping']);
    expect(out.events).toEqual([message('x')]);
  });

  it('splits a line at the first colon and removes one optional space from the value', () => {
    const out = parseEverySplit('data:x\n\ndata:  two\n\ndata: a:b: c\n\ndata\n\ndata:\n\nevent\ndata: reset\n\n');
    expect(out.events).toEqual([message('x'), message(' two'), message('a:b: c'), message(''), message(''), message('reset')]);
  });

  it('joins data lines with LF', () => {
    expect(parseEverySplit('data: a\ndata: b\ndata:\ndata: c\n\ndata:\ndata:\n\n').events).toEqual([message('a\nb\n\nc'), message('\n')]);
  });

  it('resets the event type after each dispatch', () => {
    const out = parseEverySplit('event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\nevent: d\nevent:\ndata: 4\n\nevent: e\n\ndata: 5\n\n');
    expect(out.events).toEqual([message('1', '', 'a'), message('2'), message('3', '', 'c'), message('4'), message('5')]);
  });

  it('ignores an id containing NUL and otherwise keeps the id for later events', () => {
    const out = parseEverySplit('id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\nid: 3\n\ndata: e\n\n');
    expect(out.events).toEqual([message('a', '1'), message('b', '1'), message('c', '1'), message('d', ''), message('e', '3')]);
  });

  it('sets the last event ID at a blank line even when no event is dispatched, and not before', () => {
    expect(parseEverySplit('id: 7\n\n').lastEventId).toBe('7');
    expect(parseEverySplit('id: 7\n\nid: 8\ndata: x\n').lastEventId).toBe('7');
  });

  it('honours retry only when the value is all ASCII digits', () => {
    const out = parseEverySplit('retry: 1000\nretry: 10a\nretry: -1\nretry:  5\nretry:\nretry: 1.5\nretry:0\nretry: ٣\n');
    expect(out.retries).toEqual([1000, 0]);
    expect(out.errors).toEqual(Array(6).fill('invalid-retry:retry'));
  });

  it('does not dispatch an event without data', () => {
    expect(parseEverySplit('event: x\nid: 3\n\n\n\ndata: y\n\n').events).toEqual([message('y', '3')]);
  });

  it('discards an unterminated event at the end of the stream', () => {
    expect(parseEverySplit('data: a\n\ndata: b\n').events).toEqual([message('a')]);
    expect(parseEverySplit('data: a\n\ndata: b').events).toEqual([message('a')]);
    expect(parseEverySplit('data: a\r\n\r\nevent: x\r\ndata: b\r').events).toEqual([message('a')]);
  });

  it('ignores unknown fields, compared case-sensitively, and reports them to onError', () => {
    const out = parseEverySplit('foo: bar\nData: x\nDATA\ndata: y\n\n');
    expect(out.events).toEqual([message('y')]);
    expect(out.errors).toEqual(['unknown-field:foo', 'unknown-field:Data', 'unknown-field:DATA']);
  });

  it('reports parse errors as SseParseError with the line', () => {
    const errors: SseParseError[] = [];
    createParser({ onError: (error) => errors.push(error) }).feed('retry: soon\n');
    expect(errors[0]).toBeInstanceOf(SseParseError);
    expect(errors[0]).toMatchObject({ code: 'sse_parse_error', type: 'invalid-retry', field: 'retry', value: 'soon', line: 'retry: soon' });
  });

  it('starts from the given last event ID and keeps it across reset', () => {
    const events: SseEvent[] = [];
    const parser = createParser({ lastEventId: '41', onEvent: (event) => events.push(event) });
    parser.feed('data: a\n\nid: 42\ndata: b\n\nid: 43\ndata: lost');
    parser.reset();
    parser.feed('\uFEFFdata: c\n\n');
    expect(events).toEqual([message('a', '41'), message('b', '42'), message('c', '42')]);
  });

  it('rejects a function in place of the options with a hint', () => {
    expect(() => createParser((() => undefined) as never)).toThrow(/Did you mean `createParser\(\{ onEvent: fn \}\)`/);
  });

  it('stays linear when one event arrives in many small reads', () => {
    // Re-scanning or re-copying the event from its start on each read would make this take minutes.
    const payload = 'x'.repeat(4 * 1024 * 1024);
    const text = `data: ${payload}\n\n`;
    const bytes = encoder.encode(text);
    let bytesEvent: SseEvent | undefined;
    let textEvent: SseEvent | undefined;
    const byteParser = createParser({ onEvent: (event) => (bytesEvent = event) });
    const textParser = createParser({ onEvent: (event) => (textEvent = event) });
    for (let at = 0; at < bytes.length; at += 16) byteParser.feed(bytes.subarray(at, at + 16));
    for (let at = 0; at < text.length; at += 16) textParser.feed(text.slice(at, at + 16));
    expect(bytesEvent?.data.length).toBe(payload.length);
    expect(textEvent?.data).toBe(bytesEvent?.data);
  });
});

/** A direct reading of the spec, slow and obviously right, to compare the parser against. */
function referenceParse(bytes: Uint8Array): SseEvent[] {
  let text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the last piece has no line ending: discarded at the end of the stream
  const events: SseEvent[] = [];
  let data: string[] = [];
  let type = '';
  let idBuffer = '';
  for (const line of lines) {
    if (line === '') {
      if (data.length > 0) events.push({ event: type || 'message', data: data.join('\n'), id: idBuffer });
      data = [];
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) idBuffer = value;
  }
  return events;
}

const TOKENS = ['data', 'event', 'id', 'retry', ':', ': ', ' ', '\n', '\r', '\r\n', 'x', 'é', '😀', '\0', '\uFEFF', '42', 'message'];
const sseLikeBytes = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS).map((token) => [...encoder.encode(token)]), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 3 })), { maxLength: 60 })
  .map((parts) => Uint8Array.from(parts.flat()));

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const reads: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    reads.push(bytes.subarray(from, point));
    from = point;
  }
  reads.push(bytes.subarray(from));
  return reads;
}

describe('createParser properties', () => {
  it('gives the same events as a direct reading of the spec, however the bytes are split', () => {
    fc.assert(
      fc.property(sseLikeBytes, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const expected = referenceParse(bytes);
        expect(run([bytes]).events).toEqual(expected);
        expect(run(splitAt(bytes, cuts)).events).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same events from text as from bytes, however the text is split', () => {
    fc.assert(
      fc.property(sseLikeBytes, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
        const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const reads: string[] = [];
        let from = 0;
        for (const point of points) {
          reads.push(text.slice(from, point));
          from = point;
        }
        reads.push(text.slice(from));
        expect(run(reads)).toEqual(run([bytes]));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), (reads) => {
        expect(() => run(reads)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('SseParserStream', () => {
  it('turns a byte stream into events and drops the unterminated tail at the end', async () => {
    const bytes = encoder.encode('retry: 10\nevent: a\nid: 1\ndata: x\n\ndata: y\n\ndata: lost');
    const retries: number[] = [];
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 5) controller.enqueue(bytes.subarray(at, at + 5));
        controller.close();
      },
    });
    const events = await Array.fromAsync(source.pipeThrough(new SseParserStream({ onRetry: (retry) => retries.push(retry) })));
    expect(events).toEqual([message('x', '1', 'a'), message('y', '1')]);
    expect(retries).toEqual([10]);
  });
});

interface Limited {
  events: SseEvent[];
  errors: SseParseError[];
}

/** Parses `reads` with `maxBufferSize`, stopping at the first error as a caller would. */
function runLimited(reads: (string | Uint8Array)[], maxBufferSize: number): Limited {
  const out: Limited = { events: [], errors: [] };
  const parser = createParser({ maxBufferSize, onEvent: (event) => out.events.push(event), onError: (error) => out.errors.push(error) });
  for (const read of reads) {
    parser.feed(read);
    if (out.errors.length > 0) break;
  }
  parser.end();
  return out;
}

/** `runLimited` for every way of cutting the stream: whole, in two at every byte and character, one byte per read. */
function limitedEverySplit(input: string, maxBufferSize: number): Limited[] {
  const bytes = encoder.encode(input);
  const results = [runLimited([bytes], maxBufferSize), runLimited(Array.from(bytes, (byte) => Uint8Array.of(byte)), maxBufferSize)];
  for (let at = 0; at <= bytes.length; at++) results.push(runLimited([bytes.subarray(0, at), bytes.subarray(at)], maxBufferSize));
  for (let at = 0; at <= input.length; at++) results.push(runLimited([input.slice(0, at), input.slice(at)], maxBufferSize));
  return results;
}

describe('createParser maxBufferSize', () => {
  it('reports a line longer than maxBufferSize, however the stream is split, after dispatching the events before it', () => {
    for (const line of [': ' + 'x'.repeat(9), 'data: 12345', 'event: abcd', 'id: 1234567', 'retry: 1234', 'unknown: ab']) {
      for (const result of limitedEverySplit(`data: a\n\n${line}\ndata: b\n\n`, 10)) {
        expect(result.events, line).toEqual([message('a')]);
        expect(result.errors, line).toHaveLength(1);
        expect(result.errors[0], line).toMatchObject({ name: 'SseParseError', type: 'max-buffer-size-exceeded', code: 'sse_parse_error', maxBufferSize: 10 });
        expect(result.errors[0]?.size, line).toBeGreaterThan(10);
        expect(result.errors[0]?.message).toMatch(/longer than maxBufferSize \(10 characters\).*Raise `maxBufferSize`/);
      }
    }
  });

  it('accepts a line of exactly maxBufferSize characters', () => {
    for (const result of limitedEverySplit('data: 1234\r\nevent: abc\rid: 12345\n: 12345678\n\n', 10)) {
      expect(result).toEqual({ events: [message('1234', '12345', 'abc')], errors: [] });
    }
  });

  it('reports an event whose data grows past maxBufferSize in short lines, with CRLF, LF and CR endings', () => {
    // 'ab\ncd\nef\ngh' is 11 characters: each line is short, the data is not.
    for (const ending of ['\n', '\r\n', '\r']) {
      const stream = ['data: ok', '', 'data: ab', 'data: cd', 'data: ef', 'data: gh', '', 'data: late', '', ''].join(ending);
      for (const result of limitedEverySplit(stream, 10)) {
        expect(result.events).toEqual([message('ok')]);
        expect(result.errors.map((error) => [error.type, error.size])).toEqual([['max-buffer-size-exceeded', 11]]);
      }
      // 'ab\ncd\nef' (8) fits.
      for (const result of limitedEverySplit(stream.replace(`data: gh${ending}`, ''), 10)) {
        expect(result).toEqual({ events: [message('ok'), message('ab\ncd\nef'), message('late')], errors: [] });
      }
    }
  });

  it('counts characters, not bytes, with UTF-8 split across reads', () => {
    // `data: ` and five CJK characters are 11 characters, 21 bytes.
    for (const result of limitedEverySplit('data: 世界世界世\n\n', 11)) expect(result).toEqual({ events: [message('世界世界世')], errors: [] });
    for (const result of limitedEverySplit('data: 世界世界世界\n\n', 11)) expect(result.errors.map((error) => error.size)).toEqual([12]);
  });

  it('counts the characters of a read as a streaming decoder gives them, holding back only a valid cut sequence', () => {
    // E0 80 is no start of a character: both bytes are U+FFFD at once, and the line is 10 characters.
    const invalid = runLimited([Uint8Array.of(...encoder.encode('data: ab'), 0xe0, 0x80), encoder.encode('cd\n\n')], 8);
    expect(invalid.errors.map((error) => error.size)).toEqual([10]);
    // E0 A0 may be: it waits for the next read, and the line is 8 characters until then.
    const cut = runLimited([Uint8Array.of(...encoder.encode('data: ab'), 0xe0, 0xa0), Uint8Array.of(0x80, ...encoder.encode('cd\n\n'))], 8);
    expect(cut.errors.map((error) => error.size)).toEqual([11]);
  });

  it('stops after the error: feed throws until reset, which starts a new stream', () => {
    const events: SseEvent[] = [];
    const errors: SseParseError[] = [];
    const parser = createParser({ maxBufferSize: 12, onEvent: (event) => events.push(event), onError: (error) => errors.push(error) });
    parser.feed('id: 1\ndata: a\n\ndata: 0123');
    expect(errors).toHaveLength(0);
    parser.feed('456789');
    expect(errors.map((error) => error.size)).toEqual([16]);
    expect(() => parser.feed('\n\ndata: b\n\n')).toThrow(/stopped at a line or event longer than maxBufferSize \(12 characters\)\. Call `reset\(\)`/);
    parser.reset();
    parser.feed('data: c\n\n');
    expect(events).toEqual([message('a', '1'), message('c', '1')]);
  });

  it('throws the error from feed when there is no onError', () => {
    const parser = createParser({ maxBufferSize: 8 });
    expect(() => parser.feed('data: 123456\n')).toThrow(SseParseError);
    expect(() => parser.feed('data: 1\n')).toThrow(/stopped/);
    parser.end();
    expect(() => parser.feed('data: 1\n\n')).not.toThrow();
  });

  it('is unlimited by default and rejects a limit that is not a positive number', () => {
    const line = 'x'.repeat(1 << 20);
    const events: SseEvent[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    for (let at = 0; at < line.length; at += 4096) parser.feed(line.slice(at, at + 4096));
    parser.feed('\ndata: ' + line + '\n\n');
    expect(events.map((event) => event.data.length)).toEqual([line.length]);
    for (const bad of [0, -1, Number.NaN, '10']) {
      expect(() => createParser({ maxBufferSize: bad as number })).toThrow(RangeError);
    }
  });

  it('errors SseParserStream with the SseParseError, after onError', async () => {
    const seen: string[] = [];
    const source = new ReadableStream<string>({
      start(controller) {
        controller.enqueue('data: a\n\ndata: ');
        controller.enqueue('x'.repeat(20));
        controller.enqueue('\n\ndata: b\n\n');
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    const reading = (async () => {
      for await (const event of source.pipeThrough(new SseParserStream({ maxBufferSize: 16, onError: (error) => seen.push(error.type) }))) events.push(event);
    })();
    await expect(reading).rejects.toMatchObject({ name: 'SseParseError', type: 'max-buffer-size-exceeded', maxBufferSize: 16 });
    expect(events).toEqual([message('a')]);
    expect(seen).toEqual(['max-buffer-size-exceeded']);
  });
});

describe('createParser with a throwing onEvent', () => {
  it('keeps the state it had just after the dispatch, and goes on with the next read', () => {
    const events: SseEvent[] = [];
    const parser = createParser({
      onEvent: (event) => {
        events.push(event);
        if (event.data === 'boom') throw new Error('listener failed');
      },
    });
    expect(() => parser.feed('event: x\nid: 1\ndata: boom\n\ndata: lost in the same read\n\n')).toThrow('listener failed');
    parser.feed('data: next\n\n');
    expect(events).toEqual([message('boom', '1', 'x'), message('next', '1')]);
    expect(parser.lastEventId).toBe('1');
  });
});
