/**
 * The React example (`useChat` from `@ai-sdk/react`, unchanged) served next to sluice in one Node
 * server: `/api/*` and `/v1/*` go to the sluice app, anything else is the built page. Build and
 * run: `npm run example:react`, then open http://localhost:3011 and try
 * `Publish "hello" on topic demo` (a tool that asks for approval).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from 'sluice/server';

const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

const sluice = createApp();
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path.startsWith('/api/') || path.startsWith('/v1/')) {
    sluice(req, res);
    return;
  }
  // The built page: its own files, index.html for everything else (no path leaves DIST).
  const file = normalize(join(DIST, path === '/' ? 'index.html' : path));
  const target = file.startsWith(DIST) && !file.slice(DIST.length).split(sep).includes('..') ? file : join(DIST, 'index.html');
  readFile(target).then(
    (body) => {
      res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream' });
      res.end(body);
    },
    () =>
      readFile(join(DIST, 'index.html')).then(
        (body) => {
          res.writeHead(200, { 'content-type': TYPES['.html']! });
          res.end(body);
        },
        () => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('Build the example first: npm run example:react');
        },
      ),
  );
});

// 3011: next to the numbered examples' 3001–3010 and `npm start`'s 3000, so all of them can run at once.
const port = Number(process.env.PORT ?? 3011);
server.listen(port, '127.0.0.1', () => console.log(`react-chat example on http://localhost:${(server.address() as { port: number }).port}`));
// The port taken (another example, `npm start`) or not allowed: one line and exit 1, not a stack trace.
server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
  console.error(`port ${port} is ${error.code === 'EADDRINUSE' ? 'in use' : 'not allowed'}: set PORT=<n> to pick another`);
  process.exit(1);
});
process.once('SIGTERM', () => void sluice.shutdown({ drainMs: 0 }).finally(() => server.close()));
