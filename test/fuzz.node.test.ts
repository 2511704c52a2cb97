/**
 * Every input fuzzed (issue 16), the seeded subset that runs in `npm test`: for each route, requests
 * generated from its request schema (strings full of CR, LF, `\n\ndata:` and other frame syntax),
 * plus random methods, paths, headers, bodies of random bytes and `Last-Event-ID`s, against the
 * real server on a local port. Never a 5xx, never an internal error, a JSON error with a code for
 * every 4xx, and no string adds a frame, a field, a line or a header (see test/fuzz-targets.ts).
 * The long run is `npm run fuzz` (scripts/fuzz.ts, 100,000 cases per route).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzProperty, startFuzzApp, TARGETS, type FuzzApp } from './fuzz-targets.ts';

const SEED = 16;
/** Cases per target: modest, so the file runs in well under a minute. */
const RUNS: Record<string, number> = { 'any request': 300, 'GET /v1/streams/:id': 200, 'GET /v1/events': 100, 'POST /v1/events': 200, 'POST /v1/jobs': 40 };
const DEFAULT_RUNS = 100;

let app: FuzzApp;

beforeAll(async () => {
  app = await startFuzzApp();
});

afterAll(async () => {
  await app.close();
});

describe('every input fuzzed (seed 16)', () => {
  for (const [name, target] of Object.entries(TARGETS)) {
    it(`${name}: no 5xx, JSON errors with a code, nothing injected`, async () => {
      await fc.assert(fuzzProperty(app, target), { seed: SEED, numRuns: RUNS[name] ?? DEFAULT_RUNS, endOnFailure: true });
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    }, 60_000);
  }
});
