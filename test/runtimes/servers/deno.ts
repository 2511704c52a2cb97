/** sluice on Deno: the Web path (`streamingResponse`) in `Deno.serve`. */
import { streamingResponse } from 'sluice';
import { story } from '../story.ts';

declare const Deno: { serve(options: { port: number; hostname: string; onListen(address: { port: number }): void }, handler: (request: Request) => Promise<Response>): unknown };

Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(`listening ${port}`) }, (request) => streamingResponse(story(request.url), { request }));
