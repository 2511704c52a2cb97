/**
 * Quotas and rate limits of the server, and what a client may store (see docs/limits.md).
 *
 * @module
 */
export { checkEventData, DEFAULT_MAX_EVENT_BYTES, jsonDepth, MAX_EVENT_DEPTH } from './check-event-data.ts';
export { clientAddress, normalizeAddress, parseTrustProxy } from './client-address.ts';
export type { TrustedProxies } from './client-address.ts';
export {
  CONCURRENCY_RETRY_AFTER_S,
  createMemoryLeaseSet,
  createQuotas,
  DEFAULT_QUOTA_LIMITS,
  LEASE_TTL_MS,
  QUOTA_ENV,
  quotaLimitsFromEnv,
  rateLimited,
  STORE_FULL_RETRY_AFTER_S,
  toStoreRefusal,
} from './quotas.ts';
export type { ConcurrencyLimit, LimitName, QuotaLease, QuotaLimits, Quotas, QuotasOptions, RateLimit } from './quotas.ts';
