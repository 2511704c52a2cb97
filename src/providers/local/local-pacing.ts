/**
 * The local demo model's pacing: time to first token and tokens per second, from options or
 * environment variables, and a drift-free schedule to emit tokens on.
 *
 * @module
 */
import { sleep } from '../../core/sleep.ts';

/** How fast the demo model writes. */
export interface LocalPacing {
  /** Milliseconds before the first token. */
  ttftMs: number;
  /** Tokens per second after the first; `Infinity` means unpaced (every token at once). */
  tokensPerSecond: number;
}

/** Environment variables, as `process.env` holds them. */
export type LocalEnv = Readonly<Record<string, string | undefined>>;

/** The environment variable of the time to first token, in milliseconds. */
export const TTFT_ENV = 'SLUICE_LOCAL_TTFT_MS';
/** The environment variable of the tokens per second. */
export const TPS_ENV = 'SLUICE_LOCAL_TPS';
/** Milliseconds before the first token when neither the option nor the variable is set. */
export const DEFAULT_TTFT_MS = 300;
/** Tokens per second when neither the option nor the variable is set. */
export const DEFAULT_TOKENS_PER_SECOND = 40;

/**
 * Checks a time to first token: a finite number ≥ 0.
 * @throws RangeError naming `where` otherwise
 */
export function checkTtftMs(value: number, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected ${where} to be a number of milliseconds ≥ 0, got ${String(value)} (${typeof value}).`);
  }
  return value;
}

/**
 * Checks a rate and normalises it: a number ≥ 0, where `0` and `Infinity` both mean unpaced.
 * @returns the rate, `Infinity` for unpaced
 * @throws RangeError naming `where` otherwise
 */
export function checkTokensPerSecond(value: number, where: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(`Expected ${where} to be a number of tokens per second ≥ 0 (0 or Infinity: unpaced), got ${String(value)} (${typeof value}).`);
  }
  return value === 0 ? Infinity : value;
}

function fromEnv(env: LocalEnv | undefined, name: string): number | undefined {
  const raw = env?.[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  // Number('') is 0 and Number('12ms') is NaN; the checks below report the raw text.
  const value = raw.toLowerCase() === 'infinity' ? Infinity : Number(raw);
  if (Number.isNaN(value)) throw new RangeError(`Expected ${name} to be a number, got ${JSON.stringify(raw)}.`);
  return value;
}

/** `process.env` where there is one (Node, Bun, Deno with compat), otherwise nothing. */
export function defaultEnv(): LocalEnv | undefined {
  return (globalThis as { process?: { env?: LocalEnv } }).process?.env;
}

/**
 * Resolves the pacing of one call: an option wins over its environment variable, which wins over
 * the default.
 * @param options - `ttftMs` and `tokensPerSecond` already checked, or undefined
 * @param env - where `SLUICE_LOCAL_TTFT_MS` and `SLUICE_LOCAL_TPS` are read
 * @returns the pacing
 * @throws RangeError when a variable is not a valid number
 */
export function resolveLocalPacing(options: { ttftMs?: number | undefined; tokensPerSecond?: number | undefined }, env: LocalEnv | undefined): LocalPacing {
  const ttftMs = options.ttftMs ?? checkTtftMs(fromEnv(env, TTFT_ENV) ?? DEFAULT_TTFT_MS, TTFT_ENV);
  const tokensPerSecond =
    options.tokensPerSecond ?? checkTokensPerSecond(fromEnv(env, TPS_ENV) ?? DEFAULT_TOKENS_PER_SECOND, TPS_ENV);
  return { ttftMs, tokensPerSecond: tokensPerSecond === 0 ? Infinity : tokensPerSecond };
}

/** Waits for token slots on a fixed schedule; see {@link createTokenClock}. */
export type TokenClock = (index: number) => Promise<void> | undefined;

/**
 * A drift-free token schedule: token `i` is due at `start + ttftMs + i × 1000 / tokensPerSecond`,
 * measured from when the clock is created, so time spent by the consumer or timer lateness is
 * caught up rather than added up. The returned function waits until token `index` is due (and
 * returns undefined when it already is, so unpaced streams never touch a timer).
 * @param pacing - time to first token and rate
 * @param signal - rejects a pending wait with `signal.reason` at once
 * @returns the clock
 */
export function createTokenClock(pacing: LocalPacing, signal?: AbortSignal): TokenClock {
  const start = performance.now();
  const interval = Number.isFinite(pacing.tokensPerSecond) ? 1000 / pacing.tokensPerSecond : 0;
  return (index) => {
    const due = start + pacing.ttftMs + index * interval;
    if (due <= performance.now()) return undefined;
    return (async () => {
      // Node's timers run on the event loop's cached millisecond clock and can fire up to ~1 ms
      // before performance.now() says the time has come, so wait again until it really has.
      for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
        await sleep(Math.ceil(wait), signal);
      }
    })();
  };
}
