/**
 * Builds the React example into `examples/react-chat/dist/` (`npm run example:react` builds it and
 * serves it with sluice).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Rolldown } from 'vite';

type Warning = Parameters<NonNullable<Rolldown.InputOptions['onwarn']>>[0];
type WarningHandler = Parameters<NonNullable<Rolldown.InputOptions['onwarn']>>[1];

/**
 * Whether a build warning is a dependency's `'use client'` directive being dropped. React Server
 * Components libraries (swr, which `@ai-sdk/react` uses) mark their modules `'use client'`; in a
 * client-only bundle like this one the directive means nothing, so losing it is harmless. The
 * same warning from the example's own code, any other directive and every other warning still show.
 */
export function isDependencyUseClient(warning: Warning): boolean {
  const file = warning.id ?? warning.loc?.file ?? '';
  return warning.code === 'MODULE_LEVEL_DIRECTIVE' && /\/node_modules\//.test(file.replaceAll('\\', '/')) && /directive "use client"/.test(warning.message);
}

/** The build's `onwarn`: drops {@link isDependencyUseClient} warnings, hands the rest to Vite. */
export function onwarn(warning: Warning, handle: WarningHandler): void {
  if (!isDependencyUseClient(warning)) handle(warning);
}

export default defineConfig({
  root: fileURLToPath(new URL('./', import.meta.url)),
  base: '/',
  // React's automatic JSX runtime, compiled by Vite's own transform (Oxc): no plugin needed.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: { onwarn },
  },
});
