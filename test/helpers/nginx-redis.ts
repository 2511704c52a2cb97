/**
 * Whether a test that runs nginx and redis-server (the fault suite, the multi-instance bench) can
 * run: with `CI=true` a missing one throws (the file fails); elsewhere it says why the test is
 * skipped and how to enable it.
 *
 * @module
 */
import { findNginx } from '../../scripts/chaos/nginx.ts';
import { redisServerAvailable } from '../../scripts/redis-process.ts';

/**
 * @param what - what needs them, for the message ("The fault suite")
 * @returns true when both are installed
 */
export function requireNginxAndRedis(what: string): boolean {
  if (findNginx() !== undefined && redisServerAvailable()) return true;
  const missing = `${what} needs nginx and redis-server (Debian: apt-get install nginx redis-server); its test is skipped. On CI (CI=true) it fails instead.`;
  if (process.env.CI === 'true') throw new Error(missing);
  console.warn(missing);
  return false;
}
