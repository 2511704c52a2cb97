/**
 * The conversation kept across reloads: the chat's id (so `resume: true` asks for the right chat's
 * stream) and its complete messages.
 */
import type { UIMessage } from 'ai';

const ID_KEY = 'react-chat.id';
const MESSAGES_KEY = 'react-chat.messages';

export function chatId(): string {
  let id = localStorage.getItem(ID_KEY);
  if (id === null) {
    id = crypto.randomUUID();
    localStorage.setItem(ID_KEY, id);
  }
  return id;
}

export function loadMessages(): UIMessage[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(MESSAGES_KEY) ?? '[]');
    return Array.isArray(value) ? (value as UIMessage[]) : [];
  } catch {
    // A corrupt entry: start over rather than fail to render.
    return [];
  }
}

export function saveMessages(messages: readonly UIMessage[]): void {
  localStorage.setItem(MESSAGES_KEY, JSON.stringify(messages));
}
