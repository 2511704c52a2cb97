/**
 * `GET /demo/numbers?count=10&interval_ms=500`: the minimal example, `数字: i` lines as plain text.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { sleep } from '../../core/sleep.ts';
import { text } from '../../core/text-format.ts';
import { sendStream } from '../../core/node/send-stream.ts';
import { HttpError } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';

const { z } = await importOptional('zod', () => import('zod'));

const Query = z.object({
  count: z.coerce.number().int().min(0).max(100_000).default(10),
  interval_ms: z.coerce.number().int().min(0).max(60_000).default(500),
});

/** The numbers demo: one line per number, `interval_ms` apart (`HEAD`: the head only). */
export const demoNumbers: RouteHandler = (req, res, { url }) => {
  const parsed = Query.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, 'invalid_query', `Invalid query parameter \`${String(issue?.path[0])}\`: ${issue?.message ?? 'invalid'}.`);
  }
  const { interval_ms: interval } = parsed.data;
  // A HEAD gets the head a GET would, at once: no numbers are made for a body nobody reads.
  const count = req.method === 'HEAD' ? 0 : parsed.data.count;
  return sendStream(
    res,
    async function* numbers(signal: AbortSignal) {
      for (let i = 0; i < count; i++) {
        if (i > 0 && interval > 0) await sleep(interval, signal);
        yield `数字: ${i}\n`;
      }
    },
    { format: text() },
  );
};
