/**
 * Issue 16's connection-cap attack, at its real size: 10,000 held `/demo/numbers` responses from one
 * client fill the default connection cap of a real `sluice serve`; `/healthz` and `/readyz` still
 * answer 200, another route gets a clear 503. Runs scripts/held-demo-connections.ts (loopback only,
 * stops by itself) on the built CLI.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('10,000 held demo connections', () => {
  it('leave /healthz and /readyz answering 200 while other routes get 503 at the cap', { timeout: 120_000 }, async () => {
    const { stdout } = await run(process.execPath, ['scripts/held-demo-connections.ts', '--connections', '10000'], { timeout: 110_000 });
    expect(stdout).toMatch(/^held 10000 of 10000 \/demo\/numbers responses open/m);
    expect(stdout).toMatch(/^\/healthz 200 /m);
    expect(stdout).toMatch(/^\/readyz 200 /m);
    expect(stdout).toMatch(/^\/v1\/models 503 /m);
  });
});
