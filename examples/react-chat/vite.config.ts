/**
 * Builds the React example into `examples/react-chat/dist/` (`npm run example:react` builds it and
 * serves it with sluice).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./', import.meta.url)),
  base: '/',
  // React's automatic JSX runtime, compiled by Vite's own transform (Oxc): no plugin needed.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
