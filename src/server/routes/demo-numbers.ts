/**
 * `GET /demo/numbers?count=10&interval_ms=500`: the minimal example, `数字: i` lines as plain text.
 * Bounded in count, interval and total duration, and counted as one of the caller's open
 * followers (`SLUICE_LIMIT_FOLLOWERS`, per key when one is sent, else per client address), so
 * held demo responses cannot fill an instance's connections.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { sleep } from '../../core/sleep.ts';
import { text } from '../../core/text-format.ts';
import { sendStream } from '../../core/node/send-stream.ts';
import type { Auth } from '../auth.ts';
import { HttpError } from '../http-error.ts';
import type { Quotas } from '../quotas/quotas.ts';
import type { RouteHandler } from '../router.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** The bounds of the numbers demo. */
export const DEMO_NUMBERS_LIMITS = {
  /** The most numbers one response sends. */
  maxCount: 10_000,
  /** The longest pause between two numbers, in milliseconds. */
  maxIntervalMs: 10_000,
  /** The longest a response may last (`count × interval_ms`), in milliseconds. */
  maxDurationMs: 120_000,
} as const;

const Query = z
  .object({
    count: z.coerce.number().int().min(0).max(DEMO_NUMBERS_LIMITS.maxCount).default(10),
    interval_ms: z.coerce.number().int().min(0).max(DEMO_NUMBERS_LIMITS.maxIntervalMs).default(500),
  })
  .refine((query) => Math.max(0, query.count - 1) * query.interval_ms <= DEMO_NUMBERS_LIMITS.maxDurationMs, {
    message: `count × interval_ms must be at most ${DEMO_NUMBERS_LIMITS.maxDurationMs} ms (${DEMO_NUMBERS_LIMITS.maxDurationMs / 1000} s)`,
    path: ['count'],
  });

/** What the numbers demo needs from the app: who the caller is and their limits. */
export interface DemoNumbersOptions {
  quotas?: Quotas;
  /** With keys on, a request that sends a valid key counts against its key (else its address). */
  auth?: Auth;
}

/**
 * Creates the numbers demo: one line per number, `interval_ms` apart (`HEAD`: the head only).
 * @param options - the quotas it counts against
 * @returns the route
 */
export function createDemoNumbers(options: DemoNumbersOptions = {}): RouteHandler {
  return (req, res, { url }) => {
    const parsed = Query.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpError(400, 'invalid_query', `Invalid query parameter \`${String(issue?.path[0])}\`: ${issue?.message ?? 'invalid'}.`);
    }
    const { interval_ms: interval } = parsed.data;
    // A HEAD gets the head a GET would, at once: no numbers are made for a body nobody reads.
    const count = req.method === 'HEAD' ? 0 : parsed.data.count;
    const answer = () =>
      sendStream(
        res,
        async function* numbers(signal: AbortSignal) {
          for (let i = 0; i < count; i++) {
            if (i > 0 && interval > 0) await sleep(interval, signal);
            yield `数字: ${i}\n`;
          }
        },
        { format: text() },
      );
    if (options.quotas === undefined || count === 0) return answer();
    return options.quotas.follow(req, ownerIfKeyed(req, options.auth), answer);
  };
}

/** The owner of a request that sends a valid key; undefined without one (the demo needs none). */
function ownerIfKeyed(req: Parameters<RouteHandler>[0], auth: Auth | undefined): string | undefined {
  if (auth?.enabled !== true || (req.headers.authorization === undefined && req.headers['x-api-key'] === undefined)) return undefined;
  try {
    return auth.ownerOf(req);
  } catch {
    // A wrong key on a route that needs none: counted against the address like no key.
    return undefined;
  }
}

/** The numbers demo without limits of its own (an app's is {@link createDemoNumbers} with its quotas). */
export const demoNumbers: RouteHandler = createDemoNumbers();
