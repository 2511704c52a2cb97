import { describe, expect, it } from 'vitest';
import { PROVIDER_ERROR_CODES } from '../errors.ts';
import { classifyProviderFailure, toProviderError } from './to-provider-error.ts';

const CONTEXT = { provider: 'openai', label: 'OpenAI', url: 'http://127.0.0.1/v1/chat/completions', keyVariable: 'OPENAI_API_KEY', started: false };

describe('classifyProviderFailure', () => {
  it.each([
    [401, null, null, 'provider_auth_failed', 502],
    [403, 'permission_error', null, 'provider_auth_failed', 502],
    [429, 'requests', 'rate_limit_exceeded', 'provider_rate_limited', 429],
    [429, 'insufficient_quota', 'insufficient_quota', 'provider_quota_exceeded', 503],
    [529, 'overloaded_error', null, 'provider_overloaded', 503],
    [200, 'overloaded_error', null, 'provider_overloaded', 503],
    [500, 'server_error', null, 'provider_server_error', 502],
    [503, null, null, 'provider_server_error', 502],
    [200, 'server_error', null, 'provider_server_error', 502],
    [400, 'invalid_request_error', null, 'provider_invalid_request', 400],
    [422, null, null, 'provider_invalid_request', 400],
    [404, 'not_found_error', null, 'provider_upstream_error', 502],
  ] as const)('HTTP %s, type %s, code %s → %s (answered %s)', (status, type, code, expected, httpStatus) => {
    const errorCode = classifyProviderFailure(status, type, code);
    expect(errorCode).toBe(expected);
    expect(PROVIDER_ERROR_CODES[errorCode]).toBe(httpStatus);
  });
});

describe('toProviderError', () => {
  it('turns a connection failure into a retryable provider_connection_failed, or provider_stream_interrupted once started', () => {
    const failure = new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
    expect(toProviderError(failure, CONTEXT)).toMatchObject({ code: 'provider_connection_failed', isRetryable: true, message: expect.stringContaining('ECONNREFUSED') });
    expect(toProviderError(new TypeError('terminated'), { ...CONTEXT, started: true })).toMatchObject({ code: 'provider_stream_interrupted', isRetryable: true });
  });
  it('turns malformed JSON into a non-retryable provider_invalid_response', () => {
    expect(toProviderError(new SyntaxError('Unexpected token'), CONTEXT)).toMatchObject({ code: 'provider_invalid_response', isRetryable: false });
  });
  it('obeys x-should-retry over the status', () => {
    const error = { status: 500, headers: new Headers({ 'x-should-retry': 'false' }), error: { error: { type: 'api_error', message: 'x' } } };
    expect(toProviderError(error, CONTEXT)).toMatchObject({ code: 'provider_server_error', isRetryable: false, providerType: 'api_error' });
  });
});
