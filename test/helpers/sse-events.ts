/**
 * Reading SSE responses in stream tests: parsed events, optionally stopping after a few.
 */
import { createParser } from '../../src/sse/parse.ts';
import type { SseEvent } from '../../src/sse/types.ts';

/** An agent event as received: its SSE id and parsed data. */
export interface ReceivedEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/**
 * Reads a response's SSE events. With `limit`, stops (cancelling the body, so the connection
 * closes) once that many events arrived.
 * @returns the events, and whether the body ended by itself
 */
export async function readEvents(response: Response, limit = Infinity): Promise<{ events: SseEvent[]; ended: boolean }> {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = response.body!.getReader();
  try {
    while (events.length < limit) {
      const { done, value } = await reader.read();
      if (done) return { events, ended: true };
      parser.feed(value);
    }
    return { events: events.slice(0, limit), ended: false };
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Agent events out of SSE events. */
export function agentEvents(events: readonly SseEvent[]): ReceivedEvent[] {
  return events.map((event) => {
    const data = JSON.parse(event.data) as Record<string, unknown>;
    return { id: Number(event.id), type: event.event, data };
  });
}

/** The text of an answer: its text deltas joined. */
export function textOf(events: readonly ReceivedEvent[]): string {
  return events.flatMap((event) => (event.type === 'text-delta' ? [String(event.data.delta)] : [])).join('');
}

/** Throws unless the ids are from, from + 1, … with nothing skipped or repeated. */
export function expectConsecutive(events: readonly ReceivedEvent[], from = 1): void {
  events.forEach((event, index) => {
    if (event.id !== from + index) throw new Error(`Expected event ${index} to have id ${from + index}, got ${event.id} (ids: ${events.map((e) => e.id).join(',')}).`);
  });
}

/** SSE frames of a whole body as `{event, id, data}` (data parsed as JSON), comments left out. */
export function sseFrames(text: string): { event?: string; id?: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line !== '' && !line.startsWith(':')))
    .filter((lines) => lines.some((line) => line.startsWith('data: ')))
    .map((lines) => {
      const field = (name: string): string | undefined => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
      const frame: { event?: string; id?: string; data: Record<string, unknown> } = { data: JSON.parse(field('data')!) as Record<string, unknown> };
      const event = field('event');
      const id = field('id');
      if (event !== undefined) frame.event = event;
      if (id !== undefined) frame.id = id;
      return frame;
    });
}

/** The JSON lines of a whole NDJSON body, blank lines left out. */
export const ndjsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
