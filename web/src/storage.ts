/**
 * The conversation kept across reloads, in `localStorage`: the turns (an assistant turn keeps
 * its events, deltas merged, so it can be shown again as it was) and the stream in progress
 * (its id and the last event id shown), written together so they always agree.
 */
import type { PageEvent } from './events.ts';

/** The `localStorage` key of the conversation (other tabs watch it with the `storage` event). */
export const CHAT_STORAGE_KEY = 'sluice.chat';
const STORAGE_KEY = CHAT_STORAGE_KEY;

/** One turn of the conversation. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  /** An assistant turn's events, to show it again after a reload. */
  events?: PageEvent[];
}

/** The generation in progress, to resume after a reload. */
export interface ActiveStream {
  streamId: string;
  lastEventId: string;
}

/** What is saved. */
export interface SavedChat {
  turns: Turn[];
  active?: ActiveStream;
}

/** Reads the saved conversation (empty when there is none or it is unreadable). */
export function loadChat(): SavedChat {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw === null) return { turns: [] };
    const saved = JSON.parse(raw) as SavedChat;
    return Array.isArray(saved.turns) ? saved : { turns: [] };
  } catch {
    return { turns: [] };
  }
}

/** Writes the conversation. */
export function saveChat(chat: SavedChat): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(chat));
  } catch {
    // Full or disabled storage: the page still works, it just will not survive a reload.
  }
}

/** Forgets the conversation. */
export function clearChat(): void {
  localStorage.removeItem(STORAGE_KEY);
}

/** Adds an event to a turn's event list, merging a delta into the previous one of the same part. */
export function recordEvent(events: PageEvent[], event: PageEvent): void {
  const last = events.at(-1);
  if (
    last !== undefined &&
    last.type === event.type &&
    (event.type === 'text-delta' || event.type === 'reasoning-delta' || event.type === 'tool-call-delta') &&
    last['id'] === event['id'] &&
    last['toolCallId'] === event['toolCallId']
  ) {
    events[events.length - 1] = { ...last, delta: String(last['delta'] ?? '') + String(event['delta'] ?? '') };
    return;
  }
  events.push(event);
}
