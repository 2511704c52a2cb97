import { describe, expect, it } from 'vitest';
import { PROVIDER_ERROR_CODES } from '../providers/errors.ts';
import { errorEventStatus } from './error-status.ts';

describe('errorEventStatus', () => {
  it('a provider failure: its code’s status, whatever the upstream’s', () => {
    expect(errorEventStatus({ code: 'provider_server_error', status: 500 })).toBe(502);
    expect(errorEventStatus({ code: 'provider_overloaded', status: 529 })).toBe(503);
    expect(errorEventStatus({ code: 'provider_overloaded', status: 200 })).toBe(503);
    expect(errorEventStatus({ code: 'provider_auth_failed', status: 401 })).toBe(502);
    expect(errorEventStatus({ code: 'provider_rate_limited', status: 429 })).toBe(429);
    expect(errorEventStatus({ code: 'provider_idle_timeout' })).toBe(504);
    expect(errorEventStatus({ code: 'provider_invalid_request', status: 422 })).toBe(400);
    for (const [code, status] of Object.entries(PROVIDER_ERROR_CODES)) expect(errorEventStatus({ code, status: 200 })).toBe(status);
  });

  it('any other event: the server’s own status when it is 400–599, else 502', () => {
    expect(errorEventStatus({ code: 'store_unavailable', status: 503 })).toBe(503);
    expect(errorEventStatus({ code: 'internal_error', status: 500 })).toBe(500);
    expect(errorEventStatus({ code: 'producer_lost' })).toBe(502);
    expect(errorEventStatus({ code: 'job_failed', status: 200 })).toBe(502);
    expect(errorEventStatus({ code: 'toString' })).toBe(502);
  });

  it('an internal error without a status of its own: 500, not a bad gateway', () => {
    expect(errorEventStatus({ code: 'internal_error' })).toBe(500);
    expect(errorEventStatus({ code: 'internal_error', status: 200 })).toBe(500);
  });
});
