import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROVIDER_ERROR_CODES, ProviderError, describeProviderFailure, providerToken } from '../errors.ts';
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

describe('publicMessage: what a server tells its clients, never the upstream text', () => {
  const SECRET = 'org-SECRET123 at internal.example:8443';
  const leaks = (message: string): boolean => /SECRET|internal\.example|10\.0\.0\.5|ECONNREFUSED|127\.0\.0\.1/.test(message);

  it.each([
    [400, { type: 'invalid_request_error', code: 'context_length_exceeded' }, 'OpenAI answered HTTP 400 (invalid_request_error, context_length_exceeded).'],
    [500, { type: 'server_error', code: null }, 'OpenAI answered HTTP 500 (server_error).'],
    [429, { type: 'requests', code: 'rate_limit_exceeded' }, 'OpenAI answered HTTP 429 (requests, rate_limit_exceeded).'],
    [401, { type: 'invalid_request_error', code: 'invalid_api_key' }, 'OpenAI answered HTTP 401 (invalid_request_error, invalid_api_key).'],
    [200, { type: 'server_error', code: 'server_error' }, 'OpenAI reported an error mid-stream (server_error).'],
    // Free text where a type or code goes is left out.
    [400, { type: 'invalid_request_error', code: `quota of ${SECRET}` }, 'OpenAI answered HTTP 400 (invalid_request_error).'],
  ] as const)('HTTP %s %o → %s; `message` keeps the upstream text', (status, fields, expected) => {
    const error = toProviderError({ status, headers: new Headers(), error: { error: { ...fields, message: `Something about ${SECRET}.` } } }, CONTEXT);
    expect(error.publicMessage).toBe(expected);
    expect(leaks(error.publicMessage)).toBe(false);
    if (status !== 401) expect(error.message).toContain(SECRET);
  });

  it('a connection failure names the provider, not the address or the socket error', () => {
    const failure = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.5:8080') });
    const context = { ...CONTEXT, provider: 'openai-compatible', label: 'OpenAI-compatible server', url: 'http://10.0.0.5:8080/v1/chat/completions' };
    const error = toProviderError(failure, context);
    expect(error.publicMessage).toBe('Could not connect to OpenAI-compatible server.');
    expect(error.message).toContain('ECONNREFUSED 10.0.0.5:8080');
    expect(toProviderError(failure, { ...context, started: true }).publicMessage).toBe('The OpenAI-compatible server stream broke off before it was complete.');
    expect(toProviderError(new SyntaxError(`Unexpected token in ${SECRET}`), CONTEXT).publicMessage).toBe('OpenAI sent a response that is not in its documented format.');
  });

  it('a ProviderError made elsewhere gets one too, with the built-in provider’s name or its id', () => {
    expect(new ProviderError('provider_idle_timeout', 'Anthropic sent nothing for 30000 ms mid-stream (idleTimeoutMs).', { provider: 'anthropic' }).publicMessage).toBe('Anthropic stopped sending mid-stream.');
    expect(new ProviderError('provider_upstream_error', `x ${SECRET}`, { provider: 'acme', statusCode: 404 }).publicMessage).toBe('The "acme" provider answered HTTP 404.');
  });
});

/** Values in a provider's `type` or `code` that are no type or code, and that a client must not see. */
const NOT_TOKENS = [
  'internal.example:8443',
  '10.0.0.5:8443',
  'org-SECRET123',
  'sk-proj-AbCdEf0123456789abcdef',
  'InvalidRequestError',
  'Server_Error',
  'internal.example',
  'a-b',
  '_private',
  '9lives',
];

/** Every error `type` and `code` in the recorded provider responses under fixtures/ (error documents, SSE error events, meta.json). */
function fixtureErrorTokens(): string[] {
  const root = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
  const found = new Set<string>();
  const walk = (value: unknown, inError: boolean): void => {
    if (Array.isArray(value)) for (const item of value) walk(item, inError);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (inError && (key === 'type' || key === 'code') && typeof item === 'string') found.add(item);
        walk(item, key === 'error');
      }
    }
  };
  for (const folder of readdirSync(root, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    for (const file of readdirSync(join(root, folder.name))) {
      const text = readFileSync(join(root, folder.name, file), 'utf8');
      const documents = file.endsWith('.json') ? [text] : text.split('\n').filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]').map((line) => line.slice(6));
      for (const document of documents) walk(JSON.parse(document), false);
    }
  }
  return [...found].sort();
}

describe('describeProviderFailure and providerToken', () => {
  it('keeps short machine tokens only', () => {
    expect(providerToken('context_length_exceeded')).toBe('context_length_exceeded');
    expect(providerToken('insufficient_quota')).toBe('insufficient_quota');
    expect(providerToken('has spaces')).toBeNull();
    expect(providerToken('x'.repeat(48))).toBe('x'.repeat(48));
    expect(providerToken('x'.repeat(49))).toBeNull();
    expect(providerToken('')).toBeNull();
    expect(providerToken(null)).toBeNull();
  });

  it.each([
    // OpenAI's types and codes
    'invalid_request_error', 'context_length_exceeded', 'rate_limit_exceeded', 'insufficient_quota', 'server_error', 'model_not_found',
    'invalid_api_key', 'requests', 'tokens',
    // Anthropic's types
    'overloaded_error', 'rate_limit_error', 'api_error', 'authentication_error', 'permission_error', 'not_found_error', 'request_too_large', 'billing_error',
  ])('a real provider type or code is repeated: %s', (token) => {
    expect(providerToken(token)).toBe(token);
  });

  it('every type and code of the recorded provider errors under fixtures/ is repeated', () => {
    const tokens = fixtureErrorTokens();
    expect(tokens).toEqual(expect.arrayContaining(['insufficient_quota', 'overloaded_error', 'rate_limit_error', 'rate_limit_exceeded', 'requests', 'server_error']));
    for (const token of tokens) expect(providerToken(token), token).toBe(token);
  });

  it.each(NOT_TOKENS)('%s is no token: left out of providerType / providerCode and the public message', (value) => {
    expect(providerToken(value)).toBeNull();
    for (const [status, fields] of [
      [400, { type: value, code: 'context_length_exceeded' }],
      [400, { type: 'invalid_request_error', code: value }],
      [200, { type: value, code: 'server_error' }],
      [200, { type: 'server_error', code: value }],
    ] as const) {
      const error = toProviderError({ status, headers: new Headers(), error: { error: { ...fields, message: 'x' } } }, CONTEXT);
      expect(error.publicMessage).not.toContain(value);
      expect(error.publicMessage).toBe(
        status === 200 ? 'OpenAI reported an error mid-stream (server_error).' : `OpenAI answered HTTP 400 (${fields.type === value ? fields.code : fields.type}).`,
      );
    }
  });
  it('says the model provider when it has no name', () => {
    expect(describeProviderFailure({ code: 'provider_connection_failed' })).toBe('Could not connect to the model provider.');
    expect(describeProviderFailure({ code: 'provider_rate_limited', statusCode: 429, providerCode: 'rate_limit_exceeded' })).toBe('The model provider answered HTTP 429 (rate_limit_exceeded).');
  });
});
