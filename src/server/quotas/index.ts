/**
 * Quotas and rate limits of the server, and what a client may store (see docs/limits.md).
 *
 * @module
 */
export { checkEventData, DEFAULT_MAX_EVENT_BYTES, jsonDepth, MAX_EVENT_DEPTH } from './check-event-data.ts';
export { addressBucket, clientAddress, normalizeAddress, parseTrustProxy } from './client-address.ts';
export type { TrustedProxies } from './client-address.ts';
export { createMemoryLeaseSet } from './memory-lease-set.ts';
export { DEFAULT_QUOTA_LIMITS, QUOTA_ENV, quotaLimitsFromEnv } from './quota-limits.ts';
export type { ConcurrencyLimit, LimitName, QuotaLimits, RateLimit } from './quota-limits.ts';
export { createQuotas, LEASE_TTL_MS, TOPIC_LEASE_MS } from './quotas.ts';
export type { QuotaLease, Quotas, QuotasOptions } from './quotas.ts';
export { CONCURRENCY_RETRY_AFTER_S, rateLimited, STORE_FULL_RETRY_AFTER_S, toStoreRefusal } from './refusals.ts';
