/**
 * A Next.js route handler (`app/story/route.ts`): a plain `(request: Request) => Promise<Response>`
 * on the Web path (`streamingResponse`).
 */
import { streamingResponse } from 'sluice';
import { story } from '../story.ts';

export function GET(request: Request): Promise<Response> {
  return streamingResponse(story(request.url), { request });
}
