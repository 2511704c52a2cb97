import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_OPTIONS, parseRetryAfterMs, retryDelayMs } from './retry.ts';

describe('parseRetryAfterMs', () => {
  it('reads retry-after-ms first, in milliseconds', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250.5', 'retry-after': '9' }))).toBe(250.5);
  });
  it('reads retry-after in seconds', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '14' }))).toBe(14_000);
  });
  it('reads retry-after as an HTTP date', () => {
    const now = Date.parse('2026-02-17T04:31:20Z');
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Tue, 17 Feb 2026 04:31:22 GMT' }), now)).toBe(2000);
  });
  it('ignores missing and unreadable values', () => {
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '-5' }))).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  it('doubles the backoff per retry, up to maxRetryDelayMs, minus up to 25% jitter', () => {
    expect(retryDelayMs(0, DEFAULT_RETRY_OPTIONS, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, DEFAULT_RETRY_OPTIONS, undefined, () => 0)).toBe(1000);
    expect(retryDelayMs(10, DEFAULT_RETRY_OPTIONS, undefined, () => 0)).toBe(8000);
    expect(retryDelayMs(0, DEFAULT_RETRY_OPTIONS, undefined, () => 0.999)).toBeCloseTo(375.1, 0);
  });
  it('uses Retry-After as given, and gives up when it exceeds maxRetryAfterMs', () => {
    expect(retryDelayMs(0, DEFAULT_RETRY_OPTIONS, 1200)).toBe(1200);
    expect(retryDelayMs(0, { ...DEFAULT_RETRY_OPTIONS, maxRetryAfterMs: 1000 }, 14_000)).toBeUndefined();
  });
});
