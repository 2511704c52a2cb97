/**
 * `npm run example:react` builds the React example without the warning every build printed: swr
 * (under `@ai-sdk/react`) marks its modules `'use client'`, which a client-only bundle drops
 * harmlessly. Only that warning from a dependency is silenced; the same directive in the example's
 * own code, other directives and other warnings still reach the log.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from 'vite';
import { isDependencyUseClient, onwarn } from '../examples/react-chat/vite.config.ts';

const CONFIG = fileURLToPath(new URL('../examples/react-chat/vite.config.ts', import.meta.url));

/** A module-level-directive warning as Rolldown reports it. */
function directiveWarning(directive: string, id: string) {
  return { code: 'MODULE_LEVEL_DIRECTIVE', id, message: `The semantics of the module level directive "${directive}" in "${id}" may not be preserved when bundling.` };
}

describe('the React example’s build', () => {
  it('logs no warning about swr’s "use client" (nothing is written)', { timeout: 60_000 }, async () => {
    const { build } = await import('vite');
    const logger = createLogger('warn');
    const warnings: string[] = [];
    logger.warn = (message) => void warnings.push(message);
    logger.warnOnce = (message) => void warnings.push(message);
    await build({ configFile: CONFIG, logLevel: 'warn', customLogger: logger, build: { write: false } });
    expect(warnings.filter((message) => message.includes('use client'))).toEqual([]);
  });

  it('drops only a dependency’s "use client" directive warning', () => {
    const passed: unknown[] = [];
    const handle = (warning: unknown): void => void passed.push(warning);
    const swr = directiveWarning('use client', '/app/node_modules/swr/dist/index/index.mjs');
    const own = directiveWarning('use client', '/app/examples/react-chat/src/chat.tsx');
    const useServer = directiveWarning('use server', '/app/node_modules/some-lib/index.mjs');
    const other = { code: 'CIRCULAR_DEPENDENCY', id: '/app/node_modules/swr/dist/index/index.mjs', message: 'Circular dependency: a -> b -> a' };
    for (const warning of [swr, own, useServer, other]) onwarn(warning, handle);
    expect(passed).toEqual([own, useServer, other]);
    expect(isDependencyUseClient(directiveWarning('use client', 'C:\\app\\node_modules\\swr\\dist\\index.mjs'))).toBe(true);
  });
});
