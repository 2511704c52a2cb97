/**
 * Resume and stop: `GET /v1/streams/:id` (replay after `Last-Event-ID`, then live, on any instance
 * sharing the store), `DELETE /v1/streams/:id` (stop the generation from any instance), and the AI
 * SDK's `GET /api/chat/:chatId/stream` (the chat's active stream from its start, or 204).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { aiSdkUiStream } from '../../protocol/ai-sdk-ui-stream.ts';
import { negotiateAgentFormat } from '../../protocol/negotiate-agent-format.ts';
import { sendJson } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';
import { ABORT_REASONS } from '../runs/run-manager.ts';
import { answerWithFollower, lastEventId, ownedStream, sendStreamHead, shuttingDown, STREAM_ID_HEADER, type StreamContext } from '../runs/stream-context.ts';

/** The message id of a chat stream's UI message, the same on the first response and on every resume. */
export function chatMessageId(streamId: string): string {
  return `msg-${streamId}`;
}

/** Builds the resume and stop handlers. */
export function streamRoutes(context: StreamContext): Record<'resume' | 'resumeHead' | 'stop' | 'resumeChat' | 'resumeChatHead', RouteHandler> {
  /** The chat's running stream that the request's key may follow, if any. */
  const activeChatStream = async (req: IncomingMessage, chatId: string): Promise<string | undefined> => {
    const owner = context.auth.ownerOf(req);
    const store = await context.store();
    const streamId = await store.getChatStream(chatId, owner);
    const info = streamId === undefined ? undefined : await store.info(streamId);
    // The AI SDK reads 204 as "nothing to resume" (reconnectToStream resolves null), also
    // when the chat's last stream is over: its messages are the app's to keep.
    return streamId === undefined || info === undefined || info.owner !== owner || info.state === 'done' ? undefined : streamId;
  };
  const noChatStream = (res: ServerResponse): undefined => {
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
    return undefined;
  };
  return {
    async resume(req, res, { url, params }) {
      if (context.draining()) throw shuttingDown();
      const id = params.id ?? '';
      const after = lastEventId(req, url);
      const owner = context.auth.ownerOf(req);
      await ownedStream(context, id, owner);
      // Codecs never number events: the SSE codec starts at the store's next id.
      return context.quotas.follow(req, owner, () => answerWithFollower(context, res, { id, after, format: negotiateAgentFormat(req.headers.accept, { firstId: after + 1 }) }));
    },

    /** `HEAD /v1/streams/:id`: the head a resume would get (or its 404), without following. */
    async resumeHead(req, res, { params }) {
      const id = params.id ?? '';
      await ownedStream(context, id, context.auth.ownerOf(req));
      sendStreamHead(res, negotiateAgentFormat(req.headers.accept), { [STREAM_ID_HEADER]: id });
    },

    async stop(req, res, { params }) {
      const id = params.id ?? '';
      const info = await ownedStream(context, id, context.auth.ownerOf(req));
      const stopping = info.state === 'running' && (await (await context.store()).requestStop(id, ABORT_REASONS.stopped));
      // 202: the producer (on whichever instance) is told and ends the stream with `abort`.
      if (stopping) sendJson(res, 202, { id, status: 'stopping' });
      else sendJson(res, 200, { id, status: 'done' });
    },

    async resumeChat(req, res, { params }) {
      if (context.draining()) throw shuttingDown();
      const streamId = await activeChatStream(req, params.chatId ?? '');
      if (streamId === undefined) return noChatStream(res);
      return context.quotas.follow(req, context.auth.ownerOf(req), () =>
        answerWithFollower(context, res, { id: streamId, after: 0, format: aiSdkUiStream({ messageId: chatMessageId(streamId) }) }),
      );
    },

    /** `HEAD /api/chat/:chatId/stream`: 204, or the head a resume would get, without following. */
    async resumeChatHead(req, res, { params }) {
      const streamId = await activeChatStream(req, params.chatId ?? '');
      if (streamId === undefined) return noChatStream(res);
      sendStreamHead(res, aiSdkUiStream({ messageId: chatMessageId(streamId) }), { [STREAM_ID_HEADER]: streamId });
      return undefined;
    },
  };
}
