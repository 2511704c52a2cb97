/**
 * Resume and stop: `GET /v1/streams/:id` (replay after `Last-Event-ID`, then live, on any instance
 * sharing the store), `DELETE /v1/streams/:id` (stop the generation from any instance), and the AI
 * SDK's `GET /api/chat/:chatId/stream` (the chat's active stream from its start, or 204).
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { aiSdkUiStream } from '../../protocol/ai-sdk-ui-stream.ts';
import { negotiateAgentFormat } from '../../protocol/negotiate-agent-format.ts';
import { pauseForApprovals } from '../approval-continuation.ts';
import { errorEventStatus } from '../error-status.ts';
import { sendJson } from '../http-error.ts';
import type { RouteHandler } from '../router.ts';
import { ABORT_REASONS } from '../runs/run-manager.ts';
import { lastEventId, sendStreamHead, shuttingDown, STREAM_ID_HEADER, type StreamContext, type Streams } from '../runs/stream-context.ts';

/** The message id of a chat stream's UI message, the same on the first response and on every resume. */
export function chatMessageId(streamId: string): string {
  return `msg-${streamId}`;
}

/** The chat's running stream that `owner` may follow, if any. */
async function activeChatStream(streams: Streams, chatId: string, owner: string | undefined): Promise<string | undefined> {
  const streamId = await streams.store.getChatStream(chatId, owner);
  const info = streamId === undefined ? undefined : await streams.store.info(streamId);
  // The AI SDK reads 204 as "nothing to resume" (reconnectToStream resolves null), also
  // when the chat's last stream is over: its messages are the app's to keep.
  return streamId === undefined || info === undefined || info.owner !== owner || info.state === 'done' ? undefined : streamId;
}

function noChatStream(res: ServerResponse): undefined {
  res.writeHead(204, { 'cache-control': 'no-store' });
  res.end();
  return undefined;
}

/** Builds the resume and stop handlers. */
export function streamRoutes(context: StreamContext): Record<'resume' | 'resumeHead' | 'stop' | 'resumeChat' | 'resumeChatHead', RouteHandler> {
  return {
    async resume(req, res, { url, params, owner }) {
      if (context.draining()) throw shuttingDown();
      const id = params.id ?? '';
      const after = lastEventId(req, url);
      const format = negotiateAgentFormat(req.headers.accept, { padding: context.padding, errorStatus: errorEventStatus });
      const streams = await context.streams();
      await streams.find(id, owner, after);
      // The events with an id greater than `after`, in order, then live; each with its id in the log.
      return context.quotas.follow(req, owner, () => streams.follow(res, { id, after, format }));
    },

    /** `HEAD /v1/streams/:id`: the head a resume would get (or its 404 or 409), without following. */
    async resumeHead(req, res, { url, params, owner }) {
      const id = params.id ?? '';
      const after = lastEventId(req, url);
      await (await context.streams()).find(id, owner, after);
      sendStreamHead(res, negotiateAgentFormat(req.headers.accept, { padding: context.padding }), { [STREAM_ID_HEADER]: id });
    },

    async stop(_req, res, { params, owner }) {
      const id = params.id ?? '';
      const streams = await context.streams();
      const info = await streams.find(id, owner);
      const stopping = info.state === 'running' && (await streams.store.requestStop(id, ABORT_REASONS.stopped));
      // 202: the producer (on whichever instance) is told and ends the stream with `abort`.
      if (stopping) sendJson(res, 202, { id, status: 'stopping' });
      else sendJson(res, 200, { id, status: 'done' });
    },

    async resumeChat(req, res, { params, owner }) {
      if (context.draining()) throw shuttingDown();
      const streams = await context.streams();
      const id = await activeChatStream(streams, params.chatId ?? '', owner);
      if (id === undefined) return noChatStream(res);
      const format = aiSdkUiStream({ padding: context.padding, messageId: chatMessageId(id) });
      // A run waiting for approval: the replay ends where it waits, so `useChat` can answer it.
      const lastId = (await streams.store.info(id))?.lastId ?? 0;
      return context.quotas.follow(req, owner, () => streams.follow(res, { id, format, until: pauseForApprovals(format, lastId) }));
    },

    /** `HEAD /api/chat/:chatId/stream`: 204, or the head a resume would get, without following. */
    async resumeChatHead(_req, res, { params, owner }) {
      const id = await activeChatStream(await context.streams(), params.chatId ?? '', owner);
      if (id === undefined) return noChatStream(res);
      sendStreamHead(res, aiSdkUiStream({ padding: context.padding, messageId: chatMessageId(id) }), { [STREAM_ID_HEADER]: id });
      return undefined;
    },
  };
}
