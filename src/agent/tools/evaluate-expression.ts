/**
 * An exact arithmetic evaluator: a recursive-descent parser over `+ - * / % ^`, parentheses,
 * unary minus and decimals, computing with BigInt rationals so `0.1 + 0.2` is exactly `0.3`.
 * It never calls `eval` or `Function`.
 *
 * @module
 */
import { SluiceError } from '../../core/errors.ts';
import { AGENT_ERROR_CODES } from '../errors.ts';

/** A calculator input could not be parsed or computed. */
export class ExpressionError extends SluiceError {
  override name = 'ExpressionError' as const;
  /** 1-based position of the character at fault in the expression. */
  readonly position: number;

  /**
   * @param message - what is wrong
   * @param expression - the whole expression
   * @param index - 0-based index of the character at fault
   */
  constructor(message: string, expression: string, index: number) {
    super('expression_invalid', `${message} (at position ${index + 1} in \`${expression}\`).`, { status: AGENT_ERROR_CODES.expression_invalid });
    this.position = index + 1;
  }
}

/** An exact rational number: numerator / denominator, denominator > 0, in lowest terms. */
export interface Rational {
  n: bigint;
  d: bigint;
}

/** Expressions longer than this are refused (a bound on work, not a language rule). */
const MAX_LENGTH = 1000;
/** Exponents beyond this are refused: 10^100000 already has 100001 digits. */
const MAX_EXPONENT = 10_000n;
/** Results with more digits than this are refused rather than printed. */
const MAX_DIGITS = 10_000;
/**
 * No numerator or denominator, final or intermediate, may be longer than this many bits: a whole
 * number of at most {@link MAX_DIGITS} digits fits (10^10000 < 2^33220). Keeping every value under
 * it keeps each operation cheap (operands of at most ~33 kbit), and a power whose result would
 * exceed it is refused from the operands' sizes before anything is computed.
 */
const MAX_BITS = Math.ceil(MAX_DIGITS * Math.log2(10));
/**
 * A budget for reducing fractions, in bit × bit units: Euclid's gcd of a and b costs about
 * bits(a) × bits(b), ~300 ms for two 60-kbit numbers on a small machine. A long sum of huge fractions
 * would otherwise spend seconds in gcds even with every value under {@link MAX_BITS}. Half of
 * MAX_BITS² keeps the worst expression at a few tens of milliseconds of one core (the evaluation is
 * synchronous: ten of them at once must not hold the event loop for seconds).
 */
const MAX_WORK = (MAX_BITS * MAX_BITS) / 2;
/** Digits after the point when a result has no finite decimal form. */
const APPROXIMATE_DIGITS = 20;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function rational(n: bigint, d: bigint): Rational {
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

/** The number of bits of |value| (0 for 0). Linear in the size of the number. */
export function bitLength(value: bigint): number {
  if (value === 0n) return 0;
  const hex = (value < 0n ? -value : value).toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(Number.parseInt(hex[0] as string, 16)));
}

/**
 * Whether `base ^ exponent` (exponent ≥ 0) would have more than `maxBits` bits, decided from the
 * sizes alone: a number of b bits raised to e has at least (b - 1) × e + 1 bits. Nothing is computed.
 * @param base - the base (numerator or denominator of the rational)
 * @param exponent - the magnitude of the exponent
 * @param maxBits - the limit @defaultValue the evaluator's own limit (10000 digits)
 */
export function powerExceeds(base: bigint, exponent: bigint, maxBits = MAX_BITS): boolean {
  const bits = bitLength(base);
  if (bits <= 1 || exponent === 0n) return false; // 0, 1 and -1 stay small
  return BigInt(bits - 1) * exponent + 1n > BigInt(maxBits);
}

function isIdentifierStart(char: string): boolean {
  return /[\p{L}_$]/u.test(char);
}

/** The operators, with the Unicode signs people paste (`×`, `÷`, `−`). */
const SIGNS: Record<string, string> = { '×': '*', '·': '*', '÷': '/', '−': '-', '–': '-', '**': '^' };

class Parser {
  private index = 0;
  private readonly source: string;
  /** The gcd work spent so far, against {@link MAX_WORK}. */
  private work = 0;

  constructor(source: string) {
    this.source = source;
  }

  parse(): Rational {
    this.skipSpace();
    if (this.index >= this.source.length) throw this.error('Expected an expression, got nothing', 0);
    const value = this.expression();
    this.skipSpace();
    if (this.index < this.source.length) {
      const char = this.source[this.index] as string;
      throw this.error(char === ')' ? 'Unmatched `)`' : `Unexpected \`${char}\`; expected an operator`, this.index);
    }
    return value;
  }

  private error(message: string, index: number): ExpressionError {
    return new ExpressionError(message, this.source, index);
  }

  /**
   * n/d in lowest terms, or an error when the reduction would spend more than the work budget or
   * the numerator or denominator is over {@link MAX_BITS}.
   */
  private reduce(n: bigint, d: bigint, at: number): Rational {
    this.work += Math.max(1, bitLength(n)) * Math.max(1, bitLength(d));
    if (this.work > MAX_WORK) throw this.error('Expression too costly to compute exactly (fractions of thousands of digits)', at);
    const value = rational(n, d);
    if (bitLength(value.n) > MAX_BITS || bitLength(value.d) > MAX_BITS) throw this.tooLarge(at);
    return value;
  }

  private tooLarge(at: number): ExpressionError {
    return this.error(`Result too large (more than ${MAX_DIGITS} digits)`, at);
  }

  private skipSpace(): void {
    while (this.index < this.source.length && /\s/.test(this.source[this.index] as string)) this.index++;
  }

  /** The operator at the cursor, normalised, or undefined; does not consume it. */
  private peekOperator(): { op: string; length: number } | undefined {
    this.skipSpace();
    const two = this.source.slice(this.index, this.index + 2);
    if (two === '**') return { op: '^', length: 2 };
    const char = this.source[this.index];
    if (char === undefined) return undefined;
    const op = SIGNS[char] ?? char;
    return '+-*/%^'.includes(op) ? { op, length: 1 } : undefined;
  }

  // expression := term (('+' | '-') term)*
  private expression(): Rational {
    let left = this.term();
    for (let next = this.peekOperator(); next !== undefined && (next.op === '+' || next.op === '-'); next = this.peekOperator()) {
      const at = this.index;
      this.index += next.length;
      const right = this.term();
      left = this.reduce(next.op === '+' ? left.n * right.d + right.n * left.d : left.n * right.d - right.n * left.d, left.d * right.d, at);
    }
    return left;
  }

  // term := unary (('*' | '/' | '%') unary)*
  private term(): Rational {
    let left = this.unary();
    for (let next = this.peekOperator(); next !== undefined && '*/%'.includes(next.op); next = this.peekOperator()) {
      const at = this.index;
      this.index += next.length;
      const right = this.unary();
      if (next.op === '*') {
        left = this.reduce(left.n * right.n, left.d * right.d, at);
        continue;
      }
      if (right.n === 0n) throw this.error(next.op === '/' ? 'Division by zero' : 'Remainder of a division by zero', at);
      if (next.op === '/') {
        left = this.reduce(left.n * right.d, left.d * right.n, at);
      } else {
        // a % b = a - b * trunc(a / b): the sign follows the dividend, as in JavaScript and C.
        const quotient = (left.n * right.d) / (left.d * right.n);
        left = this.reduce(left.n * right.d - quotient * right.n * left.d, left.d * right.d, at);
      }
    }
    return left;
  }

  // unary := ('-' | '+') unary | power — so -2^2 is -(2^2), as in mathematics.
  private unary(): Rational {
    const next = this.peekOperator();
    if (next !== undefined && (next.op === '-' || next.op === '+')) {
      this.index += next.length;
      const value = this.unary();
      return next.op === '-' ? { n: -value.n, d: value.d } : value;
    }
    return this.power();
  }

  // power := primary ('^' unary)? — right-associative: 2^3^2 is 2^9.
  private power(): Rational {
    const base = this.primary();
    const next = this.peekOperator();
    if (next === undefined || next.op !== '^') return base;
    const at = this.index;
    this.index += next.length;
    const exponent = this.unary();
    if (exponent.d !== 1n) throw this.error('Only whole-number exponents keep the result exact; got a fractional exponent', at);
    const magnitude = exponent.n < 0n ? -exponent.n : exponent.n;
    if (magnitude > MAX_EXPONENT) throw this.error(`Exponent too large (at most ${MAX_EXPONENT})`, at);
    if (exponent.n < 0n && base.n === 0n) throw this.error('Zero to a negative power is a division by zero', at);
    // Refuse from the sizes before computing: (2^10000)^10000 would be a 100-million-bit number.
    if (powerExceeds(base.n, magnitude) || powerExceeds(base.d, magnitude)) throw this.tooLarge(at);
    const n = base.n ** magnitude;
    const d = base.d ** magnitude;
    if (n.toString().length > MAX_DIGITS || d.toString().length > MAX_DIGITS) throw this.tooLarge(at);
    // n and d are coprime (the base is in lowest terms), so flipping them only needs the sign fixed.
    return exponent.n < 0n ? (n < 0n ? { n: -d, d: -n } : { n: d, d: n }) : { n, d };
  }

  // primary := number | '(' expression ')'
  private primary(): Rational {
    this.skipSpace();
    const start = this.index;
    const char = this.source[this.index];
    if (char === undefined) throw this.error('Expected a number or `(`, got the end of the expression', this.index);
    if (char === '(') {
      this.index++;
      const value = this.expression();
      this.skipSpace();
      if (this.source[this.index] !== ')') {
        throw this.error(this.index >= this.source.length ? 'Missing `)` for the `(`' : `Expected \`)\`, got \`${this.source[this.index]}\``, this.index >= this.source.length ? start : this.index);
      }
      this.index++;
      return value;
    }
    const match = /^(\d+)(?:\.(\d+))?|^\.(\d+)/.exec(this.source.slice(this.index));
    if (match) {
      this.index += match[0].length;
      const whole = match[1] ?? '0';
      const fraction = match[2] ?? match[3] ?? '';
      return rational(BigInt(whole + fraction), 10n ** BigInt(fraction.length));
    }
    if (isIdentifierStart(char)) {
      const name = /^[\p{L}\p{N}_$]+/u.exec(this.source.slice(this.index))?.[0] ?? char;
      throw this.error(`Unknown name \`${name}\`; only numbers and + - * / % ^ ( ) are allowed`, this.index);
    }
    throw this.error(`Unexpected \`${char}\`; expected a number or \`(\``, this.index);
  }
}

/**
 * Parses and evaluates `expression` exactly.
 * @param expression - e.g. `17 * 23`, `(0.1 + 0.2) * 3`, `-2^-2`
 * @returns the exact rational value
 * @throws ExpressionError with the 1-based position of the fault (syntax, division by zero, limits)
 */
export function evaluateExpression(expression: string): Rational {
  if (typeof expression !== 'string') throw new TypeError(`Expected \`expression\` to be a string, got ${typeof expression}.`);
  if (expression.length > MAX_LENGTH) throw new ExpressionError(`Expression too long (at most ${MAX_LENGTH} characters)`, expression.slice(0, 40) + '…', MAX_LENGTH);
  return new Parser(expression).parse();
}

/** Whether `d` has no prime factor but 2 and 5, so n/d has a finite decimal form. */
function terminates(d: bigint): boolean {
  let rest = d;
  while (rest % 2n === 0n) rest /= 2n;
  while (rest % 5n === 0n) rest /= 5n;
  return rest === 1n;
}

/**
 * Formats a rational in decimal: exact when the decimal form is finite (`0.3`, `391`, `-0.125`),
 * else rounded to `digits` places after the point.
 * @param value - the number
 * @param digits - places when the decimal form is infinite @defaultValue 20
 * @returns the text and whether it is exact
 */
export function formatRational(value: Rational, digits = APPROXIMATE_DIGITS): { text: string; exact: boolean } {
  const negative = value.n < 0n;
  const n = negative ? -value.n : value.n;
  const exact = terminates(value.d);
  let places = digits;
  if (exact) {
    // d = 2^a × 5^b needs max(a, b) places.
    let twos = 0;
    let fives = 0;
    for (let d = value.d; d % 2n === 0n; d /= 2n) twos++;
    for (let d = value.d; d % 5n === 0n; d /= 5n) fives++;
    places = Math.max(twos, fives);
  }
  const scale = 10n ** BigInt(places);
  // Round half away from zero for the inexact case; exact values divide evenly.
  const scaled = (n * scale * 2n + value.d) / (value.d * 2n);
  let text = scaled.toString();
  if (places > 0) {
    text = text.padStart(places + 1, '0');
    text = `${text.slice(0, -places)}.${text.slice(-places)}`;
    if (!exact) text = text.replace(/\.?0+$/, '');
  }
  if (negative && /[1-9]/.test(text)) text = `-${text}`;
  return { text, exact };
}
