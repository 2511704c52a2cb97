import { describe, expect, it } from 'vitest';
import { checkTokensPerSecond, createTokenClock, resolveLocalPacing } from './local-pacing.ts';

describe('resolveLocalPacing', () => {
  it('defaults to 300 ms and 40 tokens per second', () => {
    expect(resolveLocalPacing({}, {})).toEqual({ ttftMs: 300, tokensPerSecond: 40 });
    expect(resolveLocalPacing({}, undefined)).toEqual({ ttftMs: 300, tokensPerSecond: 40 });
  });

  it('reads the environment, and options win over it', () => {
    const env = { SLUICE_LOCAL_TTFT_MS: ' 120 ', SLUICE_LOCAL_TPS: '80' };
    expect(resolveLocalPacing({}, env)).toEqual({ ttftMs: 120, tokensPerSecond: 80 });
    expect(resolveLocalPacing({ ttftMs: 5, tokensPerSecond: 9 }, env)).toEqual({ ttftMs: 5, tokensPerSecond: 9 });
    expect(resolveLocalPacing({}, { SLUICE_LOCAL_TTFT_MS: '', SLUICE_LOCAL_TPS: '' })).toEqual({ ttftMs: 300, tokensPerSecond: 40 });
  });

  it('treats 0 and Infinity tokens per second as unpaced', () => {
    expect(resolveLocalPacing({}, { SLUICE_LOCAL_TPS: '0' }).tokensPerSecond).toBe(Infinity);
    expect(resolveLocalPacing({}, { SLUICE_LOCAL_TPS: 'Infinity' }).tokensPerSecond).toBe(Infinity);
    expect(checkTokensPerSecond(0, 'x')).toBe(Infinity);
  });

  it('rejects values that are not numbers ≥ 0, naming the variable', () => {
    expect(() => resolveLocalPacing({}, { SLUICE_LOCAL_TTFT_MS: '-5' })).toThrow(/SLUICE_LOCAL_TTFT_MS.*-5/);
    expect(() => resolveLocalPacing({}, { SLUICE_LOCAL_TTFT_MS: 'Infinity' })).toThrow(RangeError);
    expect(() => resolveLocalPacing({}, { SLUICE_LOCAL_TPS: '12/s' })).toThrow(/SLUICE_LOCAL_TPS.*"12\/s"/);
  });
});

describe('createTokenClock', () => {
  it('never touches a timer when unpaced', () => {
    const clock = createTokenClock({ ttftMs: 0, tokensPerSecond: Infinity });
    for (let i = 0; i < 1000; i++) expect(clock(i)).toBeUndefined();
  });

  it('schedules against its start, so a late consumer catches up instead of drifting', async () => {
    const started = performance.now();
    const clock = createTokenClock({ ttftMs: 20, tokensPerSecond: 100 });
    await clock(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
    // Token 5 is due at 20 + 5 × 10 = 70 ms; wait there, then tokens 1 to 5 are all due already.
    await clock(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
    for (let i = 1; i <= 5; i++) expect(clock(i)).toBeUndefined();
    expect(clock(20)).toBeInstanceOf(Promise);
  });

  it('rejects a pending wait with the signal’s reason', async () => {
    const controller = new AbortController();
    const wait = createTokenClock({ ttftMs: 10_000, tokensPerSecond: 1 }, controller.signal)(0);
    controller.abort(new Error('stop'));
    await expect(wait).rejects.toThrow('stop');
  });
});
