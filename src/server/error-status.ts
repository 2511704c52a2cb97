/**
 * The HTTP status the server answers a run's `error` event with, when it ends a response before its
 * first byte (a new run's first event, plain text before any text, a non-streaming completion).
 *
 * @module
 */
import type { ErrorEvent } from '../protocol/types.ts';
import { PROVIDER_ERROR_CODES, type ProviderErrorCode } from '../providers/errors.ts';

/**
 * The status for an `error` event. A model provider's failure gets its code's documented status
 * (`PROVIDER_ERROR_CODES`: 502 upstream failures, 504 timeouts, 429 rate limited, 503 overloaded,
 * 400 a rejected request), never the upstream's own status, which the event carries in `status`
 * (an upstream 500 is a 502 here, a 529 a 503, a 401 a 502: the client's credentials are fine). Any
 * other event was made by the server with its own status (or none): that status when it is
 * 400–599, else 500 for `internal_error` and 502 for the rest.
 * @param event - the `error` event (its code and `status`)
 * @returns an HTTP status, 400–599
 */
export function errorEventStatus(event: Pick<ErrorEvent, 'code' | 'status'>): number {
  if (Object.hasOwn(PROVIDER_ERROR_CODES, event.code)) return PROVIDER_ERROR_CODES[event.code as ProviderErrorCode];
  const { status } = event;
  if (status !== undefined && Number.isInteger(status) && status >= 400 && status <= 599) return status;
  // The server's own failure is no bad gateway.
  return event.code === 'internal_error' ? 500 : 502;
}
