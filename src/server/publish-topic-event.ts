/**
 * Publishing on an event-push topic, with every check `POST /v1/events` makes: the topic's and the
 * event name's form, the data's depth and size (`SLUICE_MAX_EVENT_BYTES`), the publisher's
 * `publish_per_minute` and `topics` quotas, and a full store's refusal. The route and the agent's
 * `publish_event` tool both publish through {@link publishTopicEvent}, so neither can skip a check.
 *
 * @module
 */
import { HttpError, quote } from './http-error.ts';
import { checkEventData } from './quotas/check-event-data.ts';
import type { Quotas } from './quotas/quotas.ts';
import { toStoreRefusal } from './quotas/refusals.ts';
import type { StreamStore } from '../store/types.ts';

/** What a topic name may be: 1 to 128 letters, digits, `.`, `_`, `-`, `:` or `/`. */
export const TOPIC = /^[A-Za-z0-9._:/-]{1,128}$/;
/** What an SSE event name may be: 1 to 128 characters, no CR, LF or NUL (they would inject fields). */
const EVENT_NAME = /^[^\r\n\0]{1,128}$/;

/** How an instance publishes. */
export interface TopicPublisher {
  quotas: Pick<Quotas, 'consume' | 'acquire'>;
  store(): Promise<Pick<StreamStore, 'publish'>>;
  /** The most UTF-8 bytes of one event's `data` JSON (`SLUICE_MAX_EVENT_BYTES`). */
  maxEventBytes: number;
  /** Topics whose name starts with this are shared by every key (`SLUICE_SHARED_TOPIC_PREFIX`). */
  sharedTopicPrefix?: string | undefined;
}

/**
 * The owner a topic belongs to in the store: the key's, unless its name is shared on purpose.
 * @param topic - the topic name
 * @param owner - the publisher's or subscriber's key owner
 * @param shared - `SLUICE_SHARED_TOPIC_PREFIX`
 */
export function topicOwner(topic: string, owner: string | undefined, shared: string | undefined): string | undefined {
  return shared !== undefined && shared !== '' && topic.startsWith(shared) ? undefined : owner;
}

/**
 * Publishes one event after the checks of `POST /v1/events`.
 * @param publisher - the instance's quotas, store and limits
 * @param who - the quota subject (`key:…` or the client's address) and the key owner
 * @param topic - the topic
 * @param event - the event name (optional) and data
 * @returns the published event's id
 * @throws HttpError 400 `invalid_request` (topic, event name, depth), 413 `payload_too_large`, 429 `rate_limited` (`publish_per_minute`, `topics`), 503 `store_full`
 */
export async function publishTopicEvent(
  publisher: TopicPublisher,
  who: { subject: string; owner: string | undefined },
  topic: string,
  event: { event?: string | undefined; data: unknown },
): Promise<string> {
  if (!TOPIC.test(topic)) throw new HttpError(400, 'invalid_request', `Invalid \`topic\`: a topic is 1 to 128 characters of A-Z a-z 0-9 . _ - : /, got ${quote(topic)}.`);
  if (event.event !== undefined && !EVENT_NAME.test(event.event)) {
    throw new HttpError(400, 'invalid_request', 'Invalid `event`: an event name is 1 to 128 characters without CR, LF or NUL.');
  }
  if (event.data === undefined) throw new HttpError(400, 'invalid_request', 'Invalid `data`: data is required (any JSON value).');
  checkEventData(event.data, publisher.maxEventBytes);
  const inStore = topicOwner(topic, who.owner, publisher.sharedTopicPrefix);
  // The store first (a missing `redis` package is a 501), then the topic's slot: a publish refused
  // for either costs no point of `publish_per_minute`, which is taken last.
  const store = await publisher.store();
  // One slot per topic (its name in its namespace), kept while its history lives.
  await publisher.quotas.acquire(who.subject, 'topics', `${inStore ?? ''}/${topic}`);
  await publisher.quotas.consume(who.subject, 'publish_per_minute');
  const stored: { event?: string; data: unknown } = { data: event.data };
  if (event.event !== undefined) stored.event = event.event;
  return store.publish(topic, stored, { owner: inStore }).catch((error: unknown) => {
    throw toStoreRefusal(error);
  });
}
