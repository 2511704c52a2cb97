/**
 * Real-time event push: `GET /v1/events?topic=T` subscribes (SSE, `Last-Event-ID` replays within
 * the topic's history), `POST /v1/events` publishes `{"topic","event"?,"data"}` and answers
 * `202 {"id"}`. Across instances when the store is Redis. With API keys, a topic is its key's own:
 * another key neither reads nor publishes it, whatever name it uses, except under the prefix
 * `SLUICE_SHARED_TOPIC_PREFIX` shares on purpose. Publishes count against the key's
 * `publish_per_minute` and `topics`, subscriptions against its `followers`; event data is checked
 * (depth, size) so whatever is accepted can be replayed.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { importOptional } from '../../core/require-optional.ts';
import { sse } from '../../sse/sse-format.ts';
import { HttpError, quote, sendJson } from '../http-error.ts';
import { DEFAULT_MAX_EVENT_BYTES } from '../quotas/check-event-data.ts';
import { publishTopicEvent, TOPIC, topicOwner } from '../publish-topic-event.ts';
import { readJson } from '../read-json.ts';
import type { RouteHandler } from '../router.ts';
import { sendStreamHead, shuttingDown, type StreamContext } from '../runs/stream-context.ts';

const { z } = await importOptional('zod', () => import('zod'));

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
    throw new HttpError(400, 'invalid_request', `Expected ?topic= to be 1 to 128 characters of A-Z a-z 0-9 . _ - : /, got ${quote(topic)}.`);
  }
  return topic;
}

/**
 * The topic event id a subscription starts after: `Last-Event-ID` header, else `?last_event_id=`.
 * An empty one is none (as the SSE spec has it), as on `/v1/streams/:id`.
 * @throws HttpError 400 when it is not an event id of a topic
 */
function topicEventId(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['last-event-id'];
  const after = (typeof header === 'string' && header !== '' ? header : undefined) ?? (url.searchParams.get('last_event_id') || undefined);
  if (after !== undefined && !TOPIC_EVENT_ID.test(after)) {
    throw new HttpError(400, 'invalid_last_event_id', `Expected Last-Event-ID to be an event id of this topic, got ${quote(after)}.`);
  }
  return after;
}

/** Options of {@link eventRoutes}. */
export interface EventRouteOptions {
  /** The most UTF-8 bytes of one event's `data` JSON. @defaultValue 65536 (`SLUICE_MAX_EVENT_BYTES`) */
  maxEventBytes?: number;
  /** Topics whose name starts with this are shared by every key (`SLUICE_SHARED_TOPIC_PREFIX`). @defaultValue none */
  sharedTopicPrefix?: string | undefined;
}

/** Builds the event push handlers. */
export function eventRoutes(context: StreamContext, options: EventRouteOptions = {}): Record<'subscribe' | 'subscribeHead' | 'publish', RouteHandler> {
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const shared = options.sharedTopicPrefix;
  return {
    async subscribe(req, res, { url, owner }) {
      if (context.draining()) throw shuttingDown();
      const topic = topicOf(url);
      const after = topicEventId(req, url);
      const streams = await context.streams();
      return context.quotas.follow(req, owner, () => streams.followTopic(res, topic, { after, owner: topicOwner(topic, owner, shared) }));
    },

    /** `HEAD /v1/events?topic=T`: the head a subscription would get (or its 400), without subscribing. */
    subscribeHead(_req, res, { url }) {
      topicOf(url);
      sendStreamHead(res, sse());
    },

    async publish(req, res, { owner }) {
      if (context.draining()) throw shuttingDown();
      const body = await readJson(req, PublishBody);
      // The same path as the agent's `publish_event`: every check in one place.
      const publisher = { quotas: context.quotas, store: async () => (await context.streams()).store, maxEventBytes, sharedTopicPrefix: shared };
      const id = await publishTopicEvent(publisher, { subject: context.quotas.subject(req, owner), owner }, body.topic, body);
      sendJson(res, 202, { id });
    },
  };
}
