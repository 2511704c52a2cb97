/**
 * A topic event as every store keeps it: the JSON text of `{"event"?,"data"}`, without its id (each
 * store numbers its topics' events itself). Store-neutral: imports no client library and nothing
 * Node-only, so the memory store and the Redis store share it.
 *
 * @module
 */
import type { TopicEvent } from './types.ts';

/** The JSON text a published event is kept as (its `event` only when it has one). */
export function encodeTopicEvent(event: Omit<TopicEvent, 'id'>): string {
  return JSON.stringify(event.event === undefined ? { data: event.data } : { event: event.event, data: event.data });
}

/**
 * The event with id `id` kept as `json` ({@link encodeTopicEvent}): its own object, parsed again.
 * @throws SyntaxError when `json` is no JSON text
 */
export function decodeTopicEvent(id: string, json: string): TopicEvent {
  const value = JSON.parse(json) as { event?: string; data: unknown };
  return value.event === undefined ? { id, data: value.data } : { id, event: value.event, data: value.data };
}
