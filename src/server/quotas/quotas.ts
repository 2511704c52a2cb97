/**
 * Quotas and rate limits per API key (per client address when auth is off): running generations,
 * running jobs, open followers, topics, new generations and publishes per minute. Shared by every
 * instance through the store's backend (Redis) when it offers one, else counted in this process.
 * Per-minute limits are rate-limiter-flexible's (loaded on first use, never by `sluice/node` or
 * `sluice/core`); concurrency limits are leases that go back on release and lapse on their own
 * when an instance dies without releasing them.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { LeaseSet, QuotaBackend } from '../../store/types.ts';
import type * as RateLimiterFlexible from 'rate-limiter-flexible';
import { importOptional } from '../../core/require-optional.ts';
import { addressBucket, clientAddress, parseTrustProxy, type TrustedProxies } from './client-address.ts';
import { createMemoryLeaseSet } from './memory-lease-set.ts';
import { DEFAULT_QUOTA_LIMITS, type ConcurrencyLimit, type LimitName, type QuotaLimits, type RateLimit } from './quota-limits.ts';
import { CONCURRENCY_RETRY_AFTER_S, rateLimited, toStoreRefusal } from './refusals.ts';

/** How long a lease lasts without renewal: an instance that dies frees its slots within this. */
export const LEASE_TTL_MS = 30_000;
/** How long a topic counts against `topics` after its last publish (the store's history lifetime). */
export const TOPIC_LEASE_MS = 3_600_000;

/** A slot of a concurrency limit, held until released. */
export interface QuotaLease {
  /** Gives the slot back (once; later calls do nothing). */
  release(): void;
}

/** Options of {@link createQuotas}. */
export interface QuotasOptions {
  /** @defaultValue {@link DEFAULT_QUOTA_LIMITS} */
  limits?: Partial<QuotaLimits>;
  /** Whose `X-Forwarded-For` is believed. @defaultValue nobody's */
  trustProxy?: TrustedProxies;
  /** The shared counters (the store's `quotaBackend()`), once the store is loaded; undefined counts in this process. */
  backend?: () => Promise<QuotaBackend | undefined>;
  /** Told each refusal (`sluice_rate_limited_total{limit}`). */
  onRefused?: (limit: LimitName) => void;
  /** The window of the per-minute limits, in whole seconds (tests shorten it). @defaultValue 60 */
  rateWindowS?: number;
  /** Reports a failure of the shared counters (the limit is then counted in this process). @defaultValue console.warn */
  onWarn?: (message: string) => void;
}

/** The quotas of one app. */
export interface Quotas {
  readonly limits: Readonly<QuotaLimits>;
  /** Who a request counts against: `key:<owner>` with a key, else `ip:<client address>` (IPv6: its /64). */
  subject(req: IncomingMessage, owner: string | undefined): string;
  /**
   * Counts one against a per-minute limit.
   * @throws HttpError 429 `rate_limited` with `Retry-After` when it is used up
   */
  consume(subject: string, limit: RateLimit): Promise<void>;
  /**
   * Takes a slot of a concurrency limit (`holder` names it: taking the same holder again renews it).
   * @throws HttpError 429 `rate_limited` with `Retry-After` when every slot is taken
   */
  acquire(subject: string, limit: ConcurrencyLimit, holder?: string): Promise<QuotaLease>;
  /**
   * A new generation (or job): counted per minute, and holding a slot of `limit` until it is done
   * (its detach grace included).
   * @throws HttpError 429 before `start` is called
   */
  startRun<R extends { readonly done: Promise<void> }>(req: IncomingMessage, owner: string | undefined, limit: 'streams' | 'jobs', start: () => Promise<R>): Promise<R>;
  /**
   * A generation that is no run (a non-streaming completion): counted per minute, and holding a
   * slot of `streams` while `work` runs.
   * @throws HttpError 429 before `work` is called
   */
  generate<T>(req: IncomingMessage, owner: string | undefined, work: () => Promise<T>): Promise<T>;
  /**
   * A follower (a resume, a subscription, the numbers demo): holds a slot of `followers` while
   * `answer` runs.
   * @throws HttpError 429 before `answer` is called
   */
  follow<T>(req: IncomingMessage, owner: string | undefined, answer: () => Promise<T>): Promise<T>;
  /** Stops renewing leases (the app is shutting down). */
  close(): void;
}

type RateLimiterModule = typeof RateLimiterFlexible;
interface Limiter {
  consume(key: string): Promise<unknown>;
}

/** rate-limiter-flexible is CommonJS: its exports are the namespace or its default, depending on the loader. */
async function loadRateLimiter(): Promise<RateLimiterModule> {
  const loaded = (await importOptional('rate-limiter-flexible', () => import('rate-limiter-flexible'))) as RateLimiterModule & { default?: RateLimiterModule };
  return loaded.RateLimiterMemory === undefined && loaded.default !== undefined ? loaded.default : loaded;
}

/**
 * Creates the quotas of an app.
 * @param options - limits, trusted proxies, the shared backend
 * @returns the quotas
 */
export function createQuotas(options: QuotasOptions = {}): Quotas {
  const limits: QuotaLimits = { ...DEFAULT_QUOTA_LIMITS, ...options.limits };
  const trust = options.trustProxy ?? parseTrustProxy(undefined);
  const warn = options.onWarn ?? ((message: string) => console.warn(message));
  // One line per outage of the shared counters, not one per request.
  let failing = false;
  const onWarn = (message: string): void => {
    if (!failing) warn(message);
    failing = true;
  };
  const recovered = (): void => {
    failing = false;
  };
  const memoryLeases = createMemoryLeaseSet();
  let backendPromise: Promise<QuotaBackend | undefined> | undefined;
  const backend = (): Promise<QuotaBackend | undefined> => {
    backendPromise ??= (options.backend?.() ?? Promise.resolve(undefined)).catch(() => {
      backendPromise = undefined;
      return undefined;
    });
    return backendPromise;
  };
  const limiters = new Map<RateLimit, Promise<Limiter>>();
  const limiter = (name: RateLimit): Promise<Limiter> => {
    let found = limiters.get(name);
    if (found === undefined) {
      found = Promise.all([loadRateLimiter(), backend()]).then(([module, shared]) => {
        const base = { points: limits[name], duration: options.rateWindowS ?? 60, keyPrefix: name };
        const local = new module.RateLimiterMemory(base);
        if (shared === undefined) return local;
        // While Redis is unreachable the limit is counted in this process (the insurance limiter)
        // rather than refusing everyone or letting everything through.
        return new module.RateLimiterRedis({
          ...base,
          keyPrefix: `${shared.keyPrefix}${name}`,
          storeClient: shared.client,
          useRedisPackage: true,
          rejectIfRedisNotReady: true,
          insuranceLimiter: local,
        });
      });
      found.catch(() => limiters.delete(name));
      limiters.set(name, found);
    }
    return found;
  };

  /** Held leases, renewed together while held: `${key}\n${holder}` → [key, holder, set]. */
  const held = new Map<string, readonly [string, string, LeaseSet]>();
  let renewTimer: ReturnType<typeof setInterval> | undefined;
  const renew = (): void => {
    const bySet = new Map<LeaseSet, (readonly [string, string])[]>();
    for (const [key, holder, set] of held.values()) {
      let list = bySet.get(set);
      if (list === undefined) bySet.set(set, (list = []));
      list.push([key, holder]);
    }
    for (const [set, list] of bySet) set.renew(list, LEASE_TTL_MS).catch((error: unknown) => onWarn(`sluice: renewing quota leases failed: ${error instanceof Error ? error.message : String(error)}`));
  };
  const track = (): void => {
    if (held.size > 0 && renewTimer === undefined) {
      renewTimer = setInterval(renew, LEASE_TTL_MS / 3);
      // Never keeps a process alive on its own.
      renewTimer.unref();
    } else if (held.size === 0 && renewTimer !== undefined) {
      clearInterval(renewTimer);
      renewTimer = undefined;
    }
  };

  const quotas: Quotas = {
    limits,
    subject(req, owner) {
      return owner !== undefined ? `key:${owner}` : `ip:${addressBucket(clientAddress(req, trust))}`;
    },

    async consume(subject, name) {
      const points = limits[name];
      if (points === 0) return;
      try {
        await (await limiter(name)).consume(subject);
      } catch (error) {
        const wait = (error as { msBeforeNext?: unknown } | null)?.msBeforeNext;
        if (typeof wait !== 'number') throw error;
        options.onRefused?.(name);
        throw rateLimited(name, points, subject, Math.max(1, Math.ceil(wait / 1000)));
      }
    },

    async acquire(subject, name, holder = randomUUID()) {
      const limit = limits[name];
      if (limit === 0) return { release: () => {} };
      const shared = await backend();
      const key = `${shared?.keyPrefix ?? ''}${name}:${subject}`;
      const ttl = name === 'topics' ? TOPIC_LEASE_MS : LEASE_TTL_MS;
      let set = shared?.leases ?? memoryLeases;
      let ok: boolean;
      try {
        ok = await set.acquire(key, holder, limit, ttl);
        if (set !== memoryLeases) recovered();
      } catch (error) {
        // The shared counters are unreachable: count in this process rather than refuse everyone.
        onWarn(`sluice: the shared quota counters failed (${error instanceof Error ? error.message : String(error)}); counting in this process until they answer.`);
        set = memoryLeases;
        ok = await set.acquire(key, holder, limit, ttl);
      }
      if (!ok) {
        options.onRefused?.(name);
        throw rateLimited(name, limit, subject, CONCURRENCY_RETRY_AFTER_S);
      }
      // A topic's slot is not held by anything running: it lapses an hour after its last publish.
      if (name === 'topics') return { release: () => {} };
      const id = `${key}\n${holder}`;
      held.set(id, [key, holder, set]);
      track();
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          held.delete(id);
          track();
          set.release(key, holder).catch(() => undefined /* it lapses by itself within LEASE_TTL_MS */);
        },
      };
    },

    async startRun(req, owner, name, start) {
      const subject = quotas.subject(req, owner);
      await quotas.consume(subject, 'streams_per_minute');
      const lease = await quotas.acquire(subject, name);
      let run;
      try {
        run = await start();
      } catch (error) {
        lease.release();
        throw toStoreRefusal(error);
      }
      void run.done.finally(() => lease.release());
      return run;
    },

    async generate(req, owner, work) {
      const subject = quotas.subject(req, owner);
      await quotas.consume(subject, 'streams_per_minute');
      const lease = await quotas.acquire(subject, 'streams');
      try {
        return await work();
      } finally {
        lease.release();
      }
    },

    async follow(req, owner, answer) {
      const lease = await quotas.acquire(quotas.subject(req, owner), 'followers');
      try {
        return await answer();
      } finally {
        lease.release();
      }
    },

    close() {
      held.clear();
      track();
    },
  };
  return quotas;
}

/**
 * The startup log's line on the limits.
 * @param limits - the limits in force
 * @param keyed - whether auth is on (limits count per key) or off (per client address)
 * @returns one line
 */
export function describeLimits(limits: Readonly<QuotaLimits>, keyed: boolean): string {
  const value = (name: LimitName): string => (limits[name] === 0 ? 'no limit' : String(limits[name]));
  return (
    `limits per ${keyed ? 'API key' : 'client address'}: ${value('streams')} running generations, ${value('streams_per_minute')} new a minute, ` +
    `${value('jobs')} jobs, ${value('followers')} followers, ${value('publish_per_minute')} publishes a minute, ${value('topics')} topics (SLUICE_LIMIT_*, see docs/limits.md)`
  );
}
