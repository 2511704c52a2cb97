import { describe, expect, it } from 'vitest';
import { encodeSse, SseEncodeError } from './encode.ts';
import { sse } from './sse-format.ts';

describe('encodeSse', () => {
  it('writes event, id and data fields in one block ending with a blank line', () => {
    expect(encodeSse({ event: 'text-delta', id: 7, data: { delta: 'Hi' } })).toBe(
      'event: text-delta\nid: 7\ndata: {"delta":"Hi"}\n\n',
    );
  });

  it('sends a plain string as data', () => {
    expect(encodeSse('hello')).toBe('data: hello\n\n');
  });

  it('splits data with LF into several data lines', () => {
    expect(encodeSse({ data: 'a\nb' })).toBe('data: a\ndata: b\n\n');
  });

  it('splits data with CR into several data lines', () => {
    expect(encodeSse({ data: 'a\rb' })).toBe('data: a\ndata: b\n\n');
  });

  it('splits data with CRLF into several data lines, one per CRLF', () => {
    expect(encodeSse({ data: 'a\r\nb\r\n\r\nc' })).toBe('data: a\ndata: b\ndata: \ndata: c\n\n');
  });

  it('keeps a trailing line break as an empty last data line', () => {
    expect(encodeSse({ data: 'a\n' })).toBe('data: a\ndata: \n\n');
  });

  it('sends empty string data as one empty data line', () => {
    expect(encodeSse({ data: '' })).toBe('data: \n\n');
  });

  it('keeps leading spaces of data (the one space after the colon is the separator)', () => {
    expect(encodeSse({ data: ' x' })).toBe('data:  x\n\n');
  });

  it('encodes non-string data as one line of JSON, escaping line breaks inside strings', () => {
    expect(encodeSse({ data: { text: 'a\nb\rc' } })).toBe('data: {"text":"a\\nb\\rc"}\n\n');
  });

  it.each(['a\nb', 'a\rb', 'a\r\nb', 'a\0b'])('rejects CR, LF or NUL in event (%j)', (event) => {
    expect(() => encodeSse({ event, data: 'x' })).toThrow(SseEncodeError);
  });

  it.each(['1\n2', '1\r2', '1\0'])('rejects CR, LF or NUL in id (%j)', (id) => {
    expect(() => encodeSse({ id, data: 'x' })).toThrowError(/`id` field to have no CR, LF or NUL/);
  });

  it('says which field was at fault and carries a stable code', () => {
    try {
      encodeSse({ event: 'x\ny' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SseEncodeError);
      expect((error as SseEncodeError).field).toBe('event');
      expect((error as SseEncodeError).code).toBe('sse_invalid_field');
    }
  });

  it('writes retry as a non-negative integer', () => {
    expect(encodeSse({ retry: 0 })).toBe('retry: 0\n\n');
    expect(encodeSse({ retry: 1500, data: 'x' })).toBe('retry: 1500\ndata: x\n\n');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects retry %s', (retry) => {
    expect(() => encodeSse({ retry })).toThrow(SseEncodeError);
  });

  it('writes a comment, one comment line per line', () => {
    expect(encodeSse({ comment: 'ping' })).toBe(': ping\n\n');
    expect(encodeSse({ comment: 'a\nb' })).toBe(': a\n: b\n\n');
  });

  it('rejects data that is not a JSON value', () => {
    expect(() => encodeSse({ data: () => 1 })).toThrow(TypeError);
  });
});

describe('sse()', () => {
  it('declares the event-stream content type with UTF-8 and a ping heartbeat', () => {
    const format = sse();
    expect(format.contentType).toBe('text/event-stream; charset=utf-8');
    expect(format.heartbeat).toBe(': ping\n\n');
  });

  it('encodes an error after the first byte as an error event with code and message', () => {
    expect(sse().encodeError?.({ code: 'internal_error', message: 'boom' })).toBe(
      'event: error\ndata: {"code":"internal_error","message":"boom"}\n\n',
    );
  });
});
