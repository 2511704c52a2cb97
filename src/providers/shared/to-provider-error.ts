/**
 * Turns whatever an SDK call threw into a {@link ProviderError} with a stable code.
 *
 * @module
 */
import { ProviderError, isProviderError, isRetryableStatus } from '../errors.ts';
import type { ProviderErrorCode } from '../errors.ts';
import { parseRetryAfterMs } from './retry.ts';

/** Where a failure happened, for the error's message and fields. */
export interface ProviderErrorContext {
  /** The provider id (`openai`, `anthropic`, `openai-compatible`). */
  provider: string;
  /** The provider's name in messages (`OpenAI`, `Anthropic`). */
  label: string;
  /** The URL that was called. */
  url: string;
  /** The variable holding the API key, named when the key is rejected. */
  keyVariable: string;
  /** The exact body of the error response, when there was one. */
  responseBody?: string | undefined;
  /** Whether events were already emitted (a broken connection then means an interrupted stream). */
  started: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The most characters of an upstream error message repeated in ours (the whole body stays in `responseBody`). */
const MAX_UPSTREAM_MESSAGE_LENGTH = 1000;

function truncate(text: string): string {
  return text.length > MAX_UPSTREAM_MESSAGE_LENGTH ? `${text.slice(0, MAX_UPSTREAM_MESSAGE_LENGTH)}… (${text.length} characters)` : text;
}

const RATE_LIMIT_TYPES = new Set(['rate_limit_error', 'rate_limit_exceeded', 'requests', 'tokens']);
const SERVER_ERROR_TYPES = new Set(['server_error', 'api_error', 'internal_error']);

/**
 * Chooses the stable code for an upstream failure.
 * @param statusCode - the upstream HTTP status (200 for an error inside a stream)
 * @param type - the provider's error type
 * @param code - the provider's error code
 * @returns the provider error code
 */
export function classifyProviderFailure(statusCode: number, type: string | null, code: string | null): ProviderErrorCode {
  if (type === 'insufficient_quota' || code === 'insufficient_quota' || type === 'billing_error') {
    return 'provider_quota_exceeded';
  }
  if (statusCode === 401 || statusCode === 403 || type === 'authentication_error' || type === 'permission_error' || code === 'invalid_api_key') {
    return 'provider_auth_failed';
  }
  if (statusCode === 429 || (type !== null && RATE_LIMIT_TYPES.has(type)) || (code !== null && RATE_LIMIT_TYPES.has(code))) {
    return 'provider_rate_limited';
  }
  if (statusCode === 529 || type === 'overloaded_error') return 'provider_overloaded';
  if (statusCode >= 500 || (type !== null && SERVER_ERROR_TYPES.has(type)) || (code !== null && SERVER_ERROR_TYPES.has(code))) {
    return 'provider_server_error';
  }
  if (statusCode === 400 || statusCode === 413 || statusCode === 422 || type === 'invalid_request_error') {
    return 'provider_invalid_request';
  }
  return 'provider_upstream_error';
}

/** Codes worth retrying when they arrive inside a 200 stream (there is no status to go by). */
const RETRYABLE_IN_STREAM: ReadonlySet<ProviderErrorCode> = new Set([
  'provider_rate_limited',
  'provider_overloaded',
  'provider_server_error',
]);

/**
 * Builds a {@link ProviderError} from an upstream failure described by its parts.
 * @param context - where it happened
 * @param statusCode - the upstream HTTP status (200 inside a stream)
 * @param body - the parsed error body (`{error: {...}}` or the inner object)
 * @param headers - the response headers, for `Retry-After` and `x-should-retry`
 * @param cause - the original error
 * @returns the provider error
 */
export function providerErrorFromBody(
  context: ProviderErrorContext,
  statusCode: number,
  body: unknown,
  headers: Headers | undefined,
  cause?: unknown,
): ProviderError {
  const inner = isRecord(body) && isRecord(body['error']) ? body['error'] : isRecord(body) ? body : {};
  const type = asString(inner['type']);
  const code = asString(inner['code']);
  const upstreamMessage = asString(inner['message']) ?? (typeof body === 'string' ? body : 'no message');
  const errorCode = classifyProviderFailure(statusCode, type, code);
  const shouldRetry = headers?.get('x-should-retry');
  const isRetryable =
    shouldRetry === 'true'
      ? true
      : shouldRetry === 'false'
        ? false
        : statusCode === 200
          ? RETRYABLE_IN_STREAM.has(errorCode)
          : errorCode !== 'provider_quota_exceeded' && isRetryableStatus(statusCode);
  const where = statusCode === 200 ? `${context.label} stream failed` : `${context.label} answered HTTP ${statusCode}`;
  const message =
    errorCode === 'provider_auth_failed'
      ? // The upstream text may echo part of the key; say what to fix instead.
        `${where}: the API key was rejected (${type ?? code ?? 'unauthorized'}). Check ${context.keyVariable}.`
      : `${where} (${type ?? code ?? 'error'}): ${truncate(upstreamMessage)}`;
  const retryAfterMs = parseRetryAfterMs(headers);
  return new ProviderError(errorCode, message, {
    provider: context.provider,
    label: context.label,
    url: context.url,
    statusCode,
    responseBody: context.responseBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    isRetryable,
    providerType: type,
    providerCode: code,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    cause,
  });
}

/**
 * Turns anything an SDK call or stream threw into a {@link ProviderError}. Abort errors must be
 * filtered out before: they pass through unchanged.
 * @param error - what was thrown
 * @param context - where it happened
 * @returns the provider error
 */
export function toProviderError(error: unknown, context: ProviderErrorContext): ProviderError {
  if (isProviderError(error)) return error;
  const record = isRecord(error) ? error : {};
  const status = typeof record['status'] === 'number' ? record['status'] : undefined;
  const headers = record['headers'] instanceof Headers ? record['headers'] : undefined;
  const body = record['error'];
  // The SDKs' APIError: an HTTP status, or (inside a 200 stream) an error payload without one.
  if (status !== undefined || (body !== undefined && 'headers' in record)) {
    return providerErrorFromBody(context, status ?? 200, body, headers, error);
  }
  const detail = error instanceof Error ? (error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message) : String(error);
  if (error instanceof SyntaxError) {
    return new ProviderError('provider_invalid_response', `${context.label} sent a malformed stream: ${detail}`, {
      provider: context.provider,
      label: context.label,
      url: context.url,
      statusCode: 200,
      isRetryable: false,
      cause: error,
    });
  }
  // Everything else is the connection: refused, reset, TLS, or the body cut off mid-stream.
  if (context.started) {
    return new ProviderError('provider_stream_interrupted', `The ${context.label} stream broke off: ${detail}`, {
      provider: context.provider,
      label: context.label,
      url: context.url,
      isRetryable: true,
      cause: error,
    });
  }
  return new ProviderError('provider_connection_failed', `Could not reach ${context.label} at ${context.url}: ${detail}`, {
    provider: context.provider,
    label: context.label,
    url: context.url,
    isRetryable: true,
    cause: error,
  });
}
