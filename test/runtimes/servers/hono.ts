/** sluice in Hono on Node (`@hono/node-server`): the Web path (`streamingResponse`). */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { streamingResponse } from 'sluice';
import { story } from '../story.ts';

const app = new Hono();
app.get('/story', (c) => streamingResponse(story(c.req.url), { request: c.req.raw }));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, ({ port }) => console.log(`listening ${port}`));
