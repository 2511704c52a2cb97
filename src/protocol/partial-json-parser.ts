/**
 * An incremental JSON parser for tool-call input streamed in fragments: it keeps its state between
 * fragments, so reading a partial value after every fragment costs time linear in the input overall.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';

/** Thrown when the text fed to a {@link PartialJsonParser} cannot be (the start of) JSON. */
export class PartialJsonError extends SluiceError {
  override name = 'PartialJsonError';
  /** The offset in the whole text of the character at fault. */
  readonly position: number;
  constructor(message: string, position: number) {
    super('invalid_json', `${message} at position ${position}.`, { status: 400 });
    this.position = position;
  }
}

/** Reads JSON text fragment by fragment and gives the value read so far at any time. */
export interface PartialJsonParser {
  /**
   * Feeds the next fragment of JSON text.
   * @throws PartialJsonError when the text so far cannot begin a JSON value
   */
  write(fragment: string): void;
  /**
   * The value read so far: containers as far as they go, strings cut where the text ends, numbers,
   * `true`, `false` and `null` only once complete, object members only once their key is. It is
   * live: later writes change it in place (clone it to keep a snapshot). `undefined` before any value.
   */
  value(): unknown;
  /**
   * Ends the text: completes a trailing number and checks that one whole JSON value was read.
   * @returns the final value, equal to `JSON.parse` of the whole text
   * @throws PartialJsonError when the text is not one whole JSON value
   */
  end(): unknown;
  /** Whether one whole JSON value has been read (only whitespace may follow). */
  readonly done: boolean;
}

// States of the machine.
const VALUE = 0; // a value must come (after `:`, after `,` in an array, at the start)
const ARRAY_FIRST = 1; // after `[`: a value or `]`
const OBJECT_FIRST = 2; // after `{`: a key or `}`
const KEY = 3; // after `,` in an object: a key
const COLON = 4;
const AFTER = 5; // after a value in a container: `,` or the closer
const STRING = 6;
const ESCAPE = 7;
const UNICODE = 8;
const NUMBER = 9;
const LITERAL = 10;
const DONE = 11;

const QUOTE = 34;
const BACKSLASH = 92;
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isWhitespace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}
function isNumberChar(code: number): boolean {
  return (code >= 48 && code <= 57) || code === 45 || code === 43 || code === 46 || code === 101 || code === 69;
}
function setMember(object: Record<string, unknown>, key: string, value: unknown): void {
  // `obj.__proto__ = v` would set the prototype; JSON.parse makes an own property.
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

/**
 * Creates an incremental JSON parser. Each character is examined once; a string being read grows
 * by appending the fragment's slice (V8 keeps such appends as ropes), so neither the text nor the
 * value is ever re-parsed from the start.
 * @returns a fresh parser
 * @example
 * ```ts
 * const parser = createPartialJsonParser()
 * parser.write('{"city":"Pa')
 * parser.value() // { city: 'Pa' }
 * parser.write('ris"}')
 * parser.end() // { city: 'Paris' }
 * ```
 */
export function createPartialJsonParser(): PartialJsonParser {
  let state = VALUE;
  let root: unknown;
  let offset = 0;
  let failed: PartialJsonError | undefined;
  const containers: (unknown[] | Record<string, unknown>)[] = [];
  const keys: string[] = [];
  // The string being read, and whether it is an object key; where a value string lives.
  let current = '';
  let isKey = false;
  let slotArray: unknown[] | undefined;
  let slotIndex = 0;
  let slotObject: Record<string, unknown> | undefined;
  let slotKey = '';
  let unicode = 0;
  let unicodeDigits = 0;
  let numberText = '';
  let literal = '';
  let literalValue: unknown;
  let literalPos = 0;

  function fail(message: string, position: number): never {
    failed = new PartialJsonError(message, position);
    throw failed;
  }
  function attach(value: unknown): void {
    const depth = containers.length;
    if (depth === 0) {
      root = value;
      slotArray = undefined;
      slotObject = undefined;
      return;
    }
    const container = containers[depth - 1]!;
    if (Array.isArray(container)) {
      slotArray = container;
      slotObject = undefined;
      slotIndex = container.length;
      container.push(value);
    } else {
      slotArray = undefined;
      slotObject = container;
      slotKey = keys[depth - 1]!;
      setMember(container, slotKey, value);
    }
  }
  function syncString(): void {
    if (slotArray !== undefined) slotArray[slotIndex] = current;
    else if (slotObject !== undefined) setMember(slotObject, slotKey, current);
    else root = current;
  }
  function afterValue(): void {
    state = containers.length === 0 ? DONE : AFTER;
  }
  function finishNumber(position: number): void {
    if (!NUMBER_TEXT.test(numberText)) fail(`Invalid number ${JSON.stringify(numberText)}`, position);
    attach(Number(numberText));
    numberText = '';
    afterValue();
  }
  function startValue(code: number, position: number): void {
    switch (code) {
      case QUOTE:
        current = '';
        isKey = false;
        attach('');
        state = STRING;
        return;
      case 123: { // {
        const object: Record<string, unknown> = {};
        attach(object);
        containers.push(object);
        keys.push('');
        state = OBJECT_FIRST;
        return;
      }
      case 91: { // [
        const array: unknown[] = [];
        attach(array);
        containers.push(array);
        keys.push('');
        state = ARRAY_FIRST;
        return;
      }
      case 116: // t
        literal = 'true';
        literalValue = true;
        break;
      case 102: // f
        literal = 'false';
        literalValue = false;
        break;
      case 110: // n
        literal = 'null';
        literalValue = null;
        break;
      default:
        if ((code >= 48 && code <= 57) || code === 45) {
          numberText = String.fromCharCode(code);
          state = NUMBER;
          return;
        }
        fail(`Unexpected ${JSON.stringify(String.fromCharCode(code))} where a value should start`, position);
    }
    literalPos = 1;
    state = LITERAL;
  }
  function close(code: number, position: number): void {
    const container = containers.pop();
    keys.pop();
    if (container === undefined || Array.isArray(container) !== (code === 93)) {
      fail(`Unexpected ${JSON.stringify(String.fromCharCode(code))}`, position);
    }
    afterValue();
  }

  function write(fragment: string): void {
    if (failed !== undefined) throw failed;
    const length = fragment.length;
    let i = 0;
    while (i < length) {
      const code = fragment.charCodeAt(i);
      switch (state) {
        case STRING: {
          // Fast path: take the run up to the next quote or backslash as one slice.
          let j = i;
          let c = code;
          while (c !== QUOTE && c !== BACKSLASH) {
            if (++j === length) break;
            c = fragment.charCodeAt(j);
          }
          if (j > i) current += fragment.slice(i, j);
          if (j === length) {
            i = j;
            continue;
          }
          i = j + 1;
          if (c === BACKSLASH) {
            state = ESCAPE;
          } else if (isKey) {
            keys[keys.length - 1] = current;
            state = COLON;
          } else {
            syncString();
            afterValue();
          }
          continue;
        }
        case ESCAPE:
          switch (code) {
            case QUOTE:
              current += '"';
              break;
            case BACKSLASH:
              current += '\\';
              break;
            case 47:
              current += '/';
              break;
            case 98:
              current += '\b';
              break;
            case 102:
              current += '\f';
              break;
            case 110:
              current += '\n';
              break;
            case 114:
              current += '\r';
              break;
            case 116:
              current += '\t';
              break;
            case 117:
              unicode = 0;
              unicodeDigits = 0;
              state = UNICODE;
              i++;
              continue;
            default:
              fail(`Invalid escape \\${String.fromCharCode(code)}`, offset + i);
          }
          state = STRING;
          i++;
          continue;
        case UNICODE: {
          const digit = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : code >= 65 && code <= 70 ? code - 55 : -1;
          if (digit < 0) fail('Invalid \\u escape', offset + i);
          unicode = unicode * 16 + digit;
          if (++unicodeDigits === 4) {
            current += String.fromCharCode(unicode);
            state = STRING;
          }
          i++;
          continue;
        }
        case NUMBER: {
          let j = i;
          while (j < length && isNumberChar(fragment.charCodeAt(j))) j++;
          if (j > i) numberText += fragment.slice(i, j);
          i = j;
          // The character that ends the number is read again in the state after it.
          if (i < length) finishNumber(offset + i);
          continue;
        }
        case LITERAL:
          if (code !== literal.charCodeAt(literalPos)) fail(`Invalid literal, expected ${JSON.stringify(literal)}`, offset + i);
          if (++literalPos === literal.length) {
            attach(literalValue);
            afterValue();
          }
          i++;
          continue;
        default:
          break;
      }
      i++;
      if (isWhitespace(code)) continue;
      switch (state) {
        case VALUE:
          startValue(code, offset + i - 1);
          break;
        case ARRAY_FIRST:
          if (code === 93) close(code, offset + i - 1);
          else startValue(code, offset + i - 1);
          break;
        case OBJECT_FIRST:
        case KEY:
          if (code === QUOTE) {
            current = '';
            isKey = true;
            state = STRING;
          } else if (code === 125 && state === OBJECT_FIRST) {
            close(code, offset + i - 1);
          } else {
            fail(`Unexpected ${JSON.stringify(String.fromCharCode(code))} where a key should start`, offset + i - 1);
          }
          break;
        case COLON:
          if (code !== 58) fail(`Expected ":" after a key, got ${JSON.stringify(String.fromCharCode(code))}`, offset + i - 1);
          state = VALUE;
          break;
        case AFTER:
          if (code === 44) state = Array.isArray(containers[containers.length - 1]) ? VALUE : KEY;
          else if (code === 93 || code === 125) close(code, offset + i - 1);
          else fail(`Expected "," or a closing bracket, got ${JSON.stringify(String.fromCharCode(code))}`, offset + i - 1);
          break;
        default:
          fail(`Unexpected ${JSON.stringify(String.fromCharCode(code))} after the end of the JSON value`, offset + i - 1);
      }
    }
    offset += length;
  }

  return {
    write,
    value() {
      if ((state === STRING || state === ESCAPE || state === UNICODE) && !isKey) syncString();
      return root;
    },
    end() {
      if (failed !== undefined) throw failed;
      if (state === NUMBER && containers.length === 0) finishNumber(offset);
      if (state !== DONE) fail('Unexpected end of JSON input', offset);
      return root;
    },
    get done() {
      return state === DONE;
    },
  };
}

/**
 * Parses possibly incomplete JSON text in one go (for a one-off look; to follow a stream, keep a
 * {@link createPartialJsonParser} and feed it each fragment instead).
 * @param text - the start of a JSON text
 * @returns the value read so far, as {@link PartialJsonParser.value} gives it
 * @throws PartialJsonError when the text cannot begin a JSON value
 */
export function parsePartialJson(text: string): unknown {
  const parser = createPartialJsonParser();
  parser.write(text);
  return parser.value();
}
