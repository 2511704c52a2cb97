/**
 * Helpers of the approval tests: reading an agent stream up to a given event, having the local
 * model publish with a person's approval.
 */
import { expect } from 'vitest';
import { createParser } from '../src/sse/parse.ts';
import type { SseEvent } from '../src/sse/types.ts';
import type { LocalApp } from './helpers/local-app.ts';
import { agentEvents, type ReceivedEvent } from './helpers/sse-events.ts';

/** The request that makes the local model call `publish_event` (which needs approval). */
export function publishQuestion(topic: string, text = 'deploy done'): { messages: { role: 'user'; content: string }[] } {
  return { messages: [{ role: 'user', content: `Publish "${text}" on topic ${topic}` }] };
}

/**
 * Reads agent events until one matches (then closes the connection), or until the body ends.
 * @returns the events read, the match last
 */
export async function readUntil(response: Response, match: (event: ReceivedEvent) => boolean, timeoutMs = 15_000): Promise<ReceivedEvent[]> {
  const raw: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => raw.push(event) });
  const reader = response.body!.getReader();
  const timer = setTimeout(() => void reader.cancel(new Error('timeout')).catch(() => undefined), timeoutMs);
  try {
    for (;;) {
      const events = agentEvents(raw);
      const index = events.findIndex(match);
      if (index !== -1) return events.slice(0, index + 1);
      const { done, value } = await reader.read();
      if (done) throw new Error(`The stream ended without the expected event; got: ${events.map((event) => event.type).join(', ')}`);
      parser.feed(value);
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
}

/** The types of events, in order, keeping only those in `types`. */
export function typesOf(events: readonly ReceivedEvent[], types: readonly string[]): string[] {
  return events.map((event) => event.type).filter((type) => types.includes(type));
}

/**
 * Asks the local model to publish `text` on `topic` (native protocol, `POST /v1/chat`), approves
 * the call, and reads the run to its end; every request carries `headers`.
 * @returns the run's events and its store owner
 */
export async function publishApproved(local: LocalApp, topic: string, text: string, headers: Record<string, string> = {}): Promise<{ events: ReceivedEvent[]; owner: string | undefined }> {
  const response = await local.post('/v1/chat', publishQuestion(topic, text), headers);
  const id = response.headers.get('x-stream-id')!;
  const head = await readUntil(response, (event) => event.type === 'approval-request');
  const { approvalId } = head.at(-1)!.data as { approvalId: string };
  const answer = await local.post(`/v1/streams/${id}/approvals/${approvalId}`, { approved: true }, headers);
  expect(answer.status).toBe(202);
  const resumed = await fetch(`${local.url}/v1/streams/${id}`, { headers: { ...headers, accept: 'text/event-stream' } });
  const events = await readUntil(resumed, (event) => event.type === 'finish' || event.type === 'error');
  return { events, owner: (await local.store.info(id))?.owner };
}
