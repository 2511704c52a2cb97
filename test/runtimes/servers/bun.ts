/** sluice on Bun: the Web path (`streamingResponse`) in `Bun.serve`. */
import { streamingResponse } from 'sluice';
import { story } from '../story.ts';

declare const Bun: { serve(options: { port: number; hostname: string; fetch(request: Request): Promise<Response> }): { port: number } };

const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => streamingResponse(story(request.url), { request }) });
console.log(`listening ${server.port}`);
