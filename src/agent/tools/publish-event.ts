/**
 * `publish_event`: publishes an event on an event-push topic (what `POST /v1/events` does), a real
 * side effect, so every call needs a person's approval first.
 *
 * @module
 */
import type { output as ZodOutput } from 'zod';
import { importOptional } from '../../core/require-optional.ts';
import { tool } from '../tool.ts';
import type { AgentTool } from '../types.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** Options of {@link createPublishEventTool}. */
export interface PublishEventToolOptions {
  /**
   * Publishes on a topic (the server passes the stream store's `publish`, on the run's owner's
   * topics, counted against the run's request's quota subject).
   * @returns the published event's id
   */
  publish(topic: string, event: { event?: string; data: unknown }, context: { owner: string | undefined; subject: string | undefined }): Promise<string>;
}

/** The input of `publish_event`. */
export interface PublishEventInput {
  topic: string;
  event?: string | undefined;
  data?: unknown;
}

const input = z.object({
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'a topic is 1 to 128 characters of A-Z a-z 0-9 . _ - : /')
    .describe('The topic to publish on (subscribers follow GET /v1/events?topic=…).'),
  event: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\r\n\0]*$/, 'an event name must not contain CR, LF or NUL')
    .optional()
    .describe('The SSE event name; leave it out for the default `message`.'),
  data: z.unknown().refine((value) => value !== undefined, 'data is required (any JSON value)').describe('What to publish: any JSON value.'),
});

/**
 * Creates `publish_event` `{topic, event?, data}` → `{id}`. It needs approval (`needsApproval: true`).
 * @param options - where it publishes
 * @returns the tool
 * @example
 * ```ts
 * createPublishEventTool({ publish: (topic, event) => store.publish(topic, event) });
 * ```
 */
export function createPublishEventTool(options: PublishEventToolOptions): AgentTool<ZodOutput<typeof input>, { id: string }> {
  return tool({
    name: 'publish_event',
    description: 'Publishes an event on an event-push topic, visible to every subscriber at once. A person must approve each call.',
    input,
    needsApproval: true,
    async execute({ topic, event, data }, { owner, subject }) {
      const id = await options.publish(topic, event === undefined ? { data } : { event, data }, { owner, subject });
      return { id };
    },
  });
}
