/**
 * Environment variables, read safely where `process` does not exist (edge runtimes).
 *
 * @module
 */

/**
 * Reads an environment variable; an empty value counts as unset.
 * @param name - the variable
 * @returns its value, or undefined
 */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
