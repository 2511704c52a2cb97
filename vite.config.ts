/**
 * Builds the web page (`web/`) into `dist/web/`: one HTML file, hashed JS and CSS under
 * `assets/`, the favicon, and nothing loaded from a CDN (marked, DOMPurify and sluice's own SSE
 * client are bundled). The server serves that folder with a strict Content-Security-Policy, so
 * the build emits no inline script.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./web/', import.meta.url)),
  base: '/',
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('./dist/web/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The preload polyfill would be inline script, which the page's CSP forbids.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
