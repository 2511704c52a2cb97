/**
 * The errors of the providers layer and their codes, each with the HTTP status the server answers
 * when the error happens before the first event.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import type { ErrorEvent } from '../protocol/types.ts';

/**
 * Every provider error code with the HTTP status the server answers when it is thrown before the
 * first event. After the first event the same code travels in an `error` event instead.
 */
export const PROVIDER_ERROR_CODES = {
  /**
   * No API key: the server is misconfigured, not the client (500, not 401: the client's own
   * credentials are fine). The server answers a model the client chose without a key here with
   * 400 `model_unavailable` before asking the provider; this 500 is for its own default model.
   */
  provider_api_key_missing: 500,
  /** `openai-compatible` without a base URL (`OPENAI_COMPATIBLE_BASE_URL`, or `OPENAI_BASE_URL` as a fallback). */
  provider_base_url_missing: 500,
  /** The provider rejected sluice's API key (upstream 401/403). The client did nothing wrong: 502. */
  provider_auth_failed: 502,
  /** Upstream 429 or a rate-limit error in the stream, after retries. */
  provider_rate_limited: 429,
  /** The account's quota or billing limit is exhausted (not retryable). */
  provider_quota_exceeded: 503,
  /** Upstream 529 or `overloaded_error`, after retries. */
  provider_overloaded: 503,
  /** Upstream 5xx or a `server_error` / `api_error` in the stream, after retries. */
  provider_server_error: 502,
  /** Upstream 400 / 413 / 422: the request (model name, messages, tools) was rejected. */
  provider_invalid_request: 400,
  /** Any other upstream HTTP error. */
  provider_upstream_error: 502,
  /** The connection failed (refused, reset, DNS) before a response, after retries. */
  provider_connection_failed: 502,
  /** The stream ended or broke before the model said it was done. */
  provider_stream_interrupted: 502,
  /** The provider sent something that is not its documented format. */
  provider_invalid_response: 502,
  /** No first token within `firstTokenTimeoutMs`. */
  provider_first_token_timeout: 504,
  /** No chunk for `idleTimeoutMs` after the stream had started. */
  provider_idle_timeout: 504,
} as const;

/** A provider error code. */
export type ProviderErrorCode = keyof typeof PROVIDER_ERROR_CODES;

/** The upstream statuses after which the same request may succeed. */
const RETRYABLE_STATUSES = new Set([408, 409, 429]);

/**
 * Whether an upstream HTTP status is worth retrying: 408, 409, 429 and every 5xx (529 included).
 * @param status - the upstream HTTP status
 * @returns true when sending the same request again may succeed
 */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status) || status >= 500;
}

/** Options of a {@link ProviderError}. */
export interface ProviderErrorOptions {
  /** The provider (`openai`, `anthropic`, `openai-compatible`). */
  provider: string;
  /** The upstream URL that failed. */
  url?: string | undefined;
  /** The upstream HTTP status; 200 for an error inside a stream, absent for a connection failure. */
  statusCode?: number | undefined;
  /** The upstream response body, as text. */
  responseBody?: string | undefined;
  /** Whether the same request may succeed when sent again. @defaultValue from `statusCode` (408, 409, 429, 5xx) */
  isRetryable?: boolean | undefined;
  /** The provider's own error type (`overloaded_error`, `server_error`, …). */
  providerType?: string | null | undefined;
  /** The provider's own error code (`rate_limit_exceeded`, …). */
  providerCode?: string | null | undefined;
  /** How long the provider asked us to wait before retrying (`Retry-After`, `retry-after-ms`). */
  retryAfterMs?: number | undefined;
  /**
   * The provider's name in {@link ProviderError.publicMessage} (`OpenAI`, `Anthropic`).
   * @defaultValue the built-in providers' names, else the `provider` id quoted
   */
  label?: string | undefined;
  /** The original error. */
  cause?: unknown;
}

/** The names of the built-in providers in a public message. */
const PROVIDER_LABELS: Readonly<Record<string, string>> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  'openai-compatible': 'OpenAI-compatible server',
};

/**
 * A provider's own type or code that may be repeated to clients: a lowercase snake_case identifier
 * of at most 48 characters, which is what providers' types and codes are (`invalid_request_error`,
 * `context_length_exceeded`, `rate_limit_exceeded`, `insufficient_quota`, `overloaded_error`,
 * `model_not_found`, `requests`). No dots, colons, hyphens or capitals: those let through host
 * names and ports (`internal.example:8443`, `10.0.0.5:8443`), organization ids (`org-…`) and keys
 * (`sk-…`).
 */
const PROVIDER_TOKEN = /^[a-z][a-z0-9_]{0,47}$/;

/**
 * A provider's own error type or code when it is a lowercase snake_case identifier of at most 48
 * characters (`invalid_request_error`, `context_length_exceeded`), else null: free text, host
 * names, addresses, ids and keys in those fields never reach a client.
 * @param value - the provider's `type` or `code`
 * @returns the token, or null
 */
export function providerToken(value: string | null | undefined): string | null {
  return typeof value === 'string' && PROVIDER_TOKEN.test(value) ? value : null;
}

/** What {@link describeProviderFailure} builds a message from. */
export interface ProviderFailureParts {
  code: string;
  /** The upstream HTTP status; 200 for an error inside a stream, absent for a connection failure. */
  statusCode?: number | undefined;
  providerType?: string | null | undefined;
  providerCode?: string | null | undefined;
  /** The provider's name (`OpenAI`). @defaultValue `the model provider` */
  label?: string | undefined;
}

/**
 * A provider failure in sluice's own words, for clients of a server: what happened, from the
 * error's code, the upstream status and the provider's type and code (when they are machine
 * tokens) only. Never the upstream message, the response body, a URL or connection detail: those
 * can hold organization ids, internal host names and addresses, request ids or quota details.
 * @param parts - the failure's code, status, provider type and code, and the provider's name
 * @returns one sentence, e.g. `OpenAI answered HTTP 400 (invalid_request_error, context_length_exceeded).`
 * @example
 * ```ts
 * describeProviderFailure({ code: 'provider_connection_failed', label: 'OpenAI' }); // 'Could not connect to OpenAI.'
 * ```
 */
export function describeProviderFailure(parts: ProviderFailureParts): string {
  const label = parts.label ?? 'the model provider';
  const Label = label.charAt(0).toUpperCase() + label.slice(1);
  const tokens = [...new Set([providerToken(parts.providerType), providerToken(parts.providerCode)].filter((token) => token !== null))];
  const detail = tokens.length === 0 ? '' : ` (${tokens.join(', ')})`;
  const status = parts.statusCode;
  switch (parts.code) {
    case 'provider_connection_failed':
      return `Could not connect to ${label}.`;
    case 'provider_stream_interrupted':
      return `The ${label} stream broke off before it was complete.`;
    case 'provider_invalid_response':
      return `${Label} sent a response that is not in its documented format.`;
    case 'provider_first_token_timeout':
      return `${Label} sent no answer in time.`;
    case 'provider_idle_timeout':
      return `${Label} stopped sending mid-stream.`;
    default:
      if (status !== undefined && status !== 200) return `${Label} answered HTTP ${status}${detail}.`;
      return status === 200 ? `${Label} reported an error mid-stream${detail}.` : `${Label} failed${detail}.`;
  }
}

/**
 * An upstream model provider failed. Thrown before the first event (the server answers
 * `status`), or carried by an `error` event after it ({@link toErrorEvent}).
 *
 * `message` is the whole story, the upstream message or the connection's error included, for the
 * code that called the provider and for logs; `publicMessage` is what a server tells its clients
 * (sluice's reference server sends it instead of `message`, and logs `message`).
 */
export class ProviderError extends SluiceError {
  override name = 'ProviderError' as const;
  declare readonly code: ProviderErrorCode;
  readonly provider: string;
  readonly url: string | undefined;
  readonly statusCode: number | undefined;
  readonly responseBody: string | undefined;
  readonly isRetryable: boolean;
  readonly providerType: string | null;
  readonly providerCode: string | null;
  readonly retryAfterMs: number | undefined;
  /**
   * What failed in sluice's own words, for clients of a server: built by
   * {@link describeProviderFailure} from the code, the upstream status, the provider's type and
   * code and its name, never from upstream text (`OpenAI answered HTTP 500 (server_error).`,
   * `Could not connect to OpenAI.`).
   */
  readonly publicMessage: string;

  /**
   * @param code - a stable code from {@link PROVIDER_ERROR_CODES}; it sets the HTTP `status`
   * @param message - what failed and where, with the upstream detail (logs, the caller); clients of a server get `publicMessage`
   * @param options - the upstream details
   */
  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions) {
    super(code, message, { status: PROVIDER_ERROR_CODES[code], cause: options.cause });
    this.provider = options.provider;
    this.url = options.url;
    this.statusCode = options.statusCode;
    this.responseBody = options.responseBody;
    this.isRetryable =
      options.isRetryable ?? (options.statusCode === undefined ? false : isRetryableStatus(options.statusCode));
    this.providerType = options.providerType ?? null;
    this.providerCode = options.providerCode ?? null;
    this.retryAfterMs = options.retryAfterMs;
    this.publicMessage = describeProviderFailure({
      code,
      statusCode: options.statusCode,
      providerType: this.providerType,
      providerCode: this.providerCode,
      label: options.label ?? (Object.hasOwn(PROVIDER_LABELS, options.provider) ? PROVIDER_LABELS[options.provider] : `the ${JSON.stringify(options.provider)} provider`),
    });
  }
}

/**
 * A provider is not configured (no API key, no base URL). Thrown before any byte is sent upstream.
 * Its status is 500: the server's configuration is at fault, not the client's credentials.
 */
export class ProviderConfigError extends SluiceError {
  override name = 'ProviderConfigError' as const;
  declare readonly code: 'provider_api_key_missing' | 'provider_base_url_missing';
  /** The environment variable that would fix it. */
  readonly variable: string;

  /**
   * @param code - `provider_api_key_missing` or `provider_base_url_missing`
   * @param variable - the environment variable to set
   * @param message - what is missing and how to fix it
   */
  constructor(code: 'provider_api_key_missing' | 'provider_base_url_missing', variable: string, message: string) {
    super(code, message, { status: PROVIDER_ERROR_CODES[code] });
    this.variable = variable;
  }
}

/**
 * Whether `value` is a {@link ProviderError}, even from another installed copy of sluice.
 * @param value - anything caught
 * @returns true for provider errors
 */
export function isProviderError(value: unknown): value is ProviderError {
  return value instanceof ProviderError || (value instanceof Error && value.name === 'ProviderError' && 'provider' in value);
}

/** The provider error each event of {@link toErrorEvent} was made from (never serialized, never copied). */
const EVENT_ORIGINS = new WeakMap<ErrorEvent, ProviderError>();

/**
 * The provider error an `error` event was made from by {@link toErrorEvent}, while it is the same
 * object (a copy of the event has none): a server finds the failure's `publicMessage` and its
 * detail for the log here.
 * @param event - an `error` event
 * @returns the provider error, or undefined
 */
export function providerErrorOf(event: ErrorEvent): ProviderError | undefined {
  return EVENT_ORIGINS.get(event);
}

/**
 * The `error` event that ends a stream which failed after its first event.
 * @param error - the provider error
 * @returns an `error` AgentEvent with the stable code, the error's message and the upstream details
 */
export function toErrorEvent(error: ProviderError): ErrorEvent {
  const event: ErrorEvent = {
    type: 'error',
    code: error.code,
    message: error.message,
    retryable: error.isRetryable,
    providerType: error.providerType,
    providerCode: error.providerCode,
  };
  if (error.statusCode !== undefined) event.status = error.statusCode;
  EVENT_ORIGINS.set(event, error);
  return event;
}
