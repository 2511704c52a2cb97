/**
 * Real-time event push: `GET /v1/events?topic=T` subscribes (SSE, `Last-Event-ID` replays within
 * the topic's history), `POST /v1/events` publishes `{"topic","event"?,"data"}` and answers
 * `202 {"id"}`. Across instances when the store is Redis.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { sse } from '../../sse/sse-format.ts';
import { HttpError, sendJson } from '../http-error.ts';
import { readJson } from '../read-json.ts';
import type { RouteHandler } from '../router.ts';
import { sendStreamHead, shuttingDown, type StreamContext } from '../runs/stream-context.ts';

/** What a topic name may be: 1 to 128 letters, digits, `.`, `_`, `-`, `:` or `/`. */
const TOPIC = /^[A-Za-z0-9._:/-]{1,128}$/;
/** A topic event id as the store makes them (opaque, but never a line break). */
const TOPIC_EVENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

const topicSchema = z.string().regex(TOPIC, 'a topic is 1 to 128 characters of A-Z a-z 0-9 . _ - : /');

/** `POST /v1/events`. */
const PublishBody = z.object({
  topic: topicSchema,
  // CR, LF or NUL would end the `event:` field early and inject the rest as new fields.
  event: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\r\n\0]*$/, 'an event name must not contain CR, LF or NUL')
    .optional(),
  data: z.unknown().refine((value) => value !== undefined, 'data is required (any JSON value)'),
});

/**
 * The `?topic=` of a subscription.
 * @throws HttpError 400 when it is missing or not a topic name
 */
function topicOf(url: URL): string {
  const topic = url.searchParams.get('topic') ?? '';
  if (!TOPIC.test(topic)) {
    throw new HttpError(400, 'invalid_request', `Expected ?topic= to be 1 to 128 characters of A-Z a-z 0-9 . _ - : /, got ${JSON.stringify(topic)}.`);
  }
  return topic;
}

/**
 * The topic event id a subscription starts after: `Last-Event-ID` header, else `?last_event_id=`.
 * @throws HttpError 400 when it is not an event id of a topic
 */
function topicEventId(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['last-event-id'];
  const after = (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('last_event_id') ?? undefined;
  if (after !== undefined && after !== '' && !TOPIC_EVENT_ID.test(after)) {
    throw new HttpError(400, 'invalid_last_event_id', `Expected Last-Event-ID to be an event id of this topic, got ${JSON.stringify(after)}.`);
  }
  return after === '' ? undefined : after;
}

/** Builds the event push handlers. */
export function eventRoutes(context: StreamContext): Record<'subscribe' | 'subscribeHead' | 'publish', RouteHandler> {
  return {
    async subscribe(req, res, { url }) {
      if (context.draining()) throw shuttingDown();
      const topic = topicOf(url);
      const after = topicEventId(req, url);
      return (await context.streams()).followTopic(res, topic, after);
    },

    /** `HEAD /v1/events?topic=T`: the head a subscription would get (or its 400), without subscribing. */
    subscribeHead(_req, res, { url }) {
      topicOf(url);
      sendStreamHead(res, sse());
    },

    async publish(req, res) {
      if (context.draining()) throw shuttingDown();
      const body = await readJson(req, PublishBody);
      const event: { event?: string; data: unknown } = { data: body.data };
      if (body.event !== undefined) event.event = body.event;
      const id = await (await context.streams()).store.publish(body.topic, event);
      sendJson(res, 202, { id });
    },
  };
}
