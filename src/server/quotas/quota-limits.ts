/**
 * The quota limits: their names, defaults and environment variables (see docs/limits.md).
 *
 * @module
 */

/** The limits, by the name a refusal and `sluice_rate_limited_total{limit}` give them. */
export type LimitName = 'streams' | 'streams_per_minute' | 'jobs' | 'followers' | 'publish_per_minute' | 'topics';

/** Every limit's value; `0` turns a limit off. */
export type QuotaLimits = Record<LimitName, number>;

/** The limits held at once (leases), as opposed to counted per minute. */
export type ConcurrencyLimit = 'streams' | 'jobs' | 'followers' | 'topics';
/** The limits counted per minute. */
export type RateLimit = 'streams_per_minute' | 'publish_per_minute';

/**
 * The defaults: enough for the demo page (and a few tabs of it) from one address, small enough
 * that one key cannot hold a small deployment's store, connections or model bill.
 */
export const DEFAULT_QUOTA_LIMITS: Readonly<QuotaLimits> = {
  streams: 20,
  streams_per_minute: 120,
  jobs: 10,
  followers: 256,
  publish_per_minute: 600,
  topics: 20,
};

/** The environment variable of each limit. */
export const QUOTA_ENV: Readonly<Record<LimitName, string>> = {
  streams: 'SLUICE_LIMIT_STREAMS',
  streams_per_minute: 'SLUICE_LIMIT_STREAMS_PER_MINUTE',
  jobs: 'SLUICE_LIMIT_JOBS',
  followers: 'SLUICE_LIMIT_FOLLOWERS',
  publish_per_minute: 'SLUICE_LIMIT_PUBLISH_PER_MINUTE',
  topics: 'SLUICE_LIMIT_TOPICS',
};

/**
 * Reads the limits set in the environment (whole numbers ≥ 0; `0` turns a limit off).
 * @param env - the environment
 * @returns every limit, the unset ones at their defaults
 * @throws RangeError on a value that is not a whole number ≥ 0
 */
export function quotaLimitsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): QuotaLimits {
  const limits = { ...DEFAULT_QUOTA_LIMITS };
  for (const name of Object.keys(QUOTA_ENV) as LimitName[]) {
    const raw = env[QUOTA_ENV[name]]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`Expected ${QUOTA_ENV[name]} to be a whole number ≥ 0 (0 turns the limit off), got ${JSON.stringify(raw).slice(0, 40)}.`);
    limits[name] = value;
  }
  return limits;
}
