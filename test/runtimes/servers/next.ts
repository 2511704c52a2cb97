/** Serves the Next.js-style route handler on Node, the way Next's server calls it: a Web `Request` in, a Web `Response` out. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { GET } from './next-route.ts';

const server = createServer(getRequestListener(GET));
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
