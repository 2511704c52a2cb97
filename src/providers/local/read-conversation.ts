/**
 * Reads what the local demo model needs from a conversation: the question, its language, tool
 * results waiting for an answer, and whether the model already introduced itself.
 *
 * @module
 */
import type { ChatMessage, MessagePart } from '../types.ts';

/** The languages the demo model answers in. */
export type AnswerLanguage = 'en' | 'zh';

/** A tool result the model has not answered yet. */
export type PendingToolResult = Extract<MessagePart, { type: 'tool-result' }>;

/** What {@link readConversation} found. */
export interface ConversationReading {
  /**
   * The text of the last user message (`''` when there is none), trimmed, at most
   * {@link MAX_QUESTION_CHARS} characters of it.
   */
  question: string;
  /** Set when the message was longer than {@link MAX_QUESTION_CHARS} and `question` is its start. */
  cut?: true;
  language: AnswerLanguage;
  /** Tool results after the last user message, when the last message holds tool results (not a new user turn). */
  toolResults: PendingToolResult[];
  /** Whether an earlier assistant message already said it is the demo model. */
  introduced: boolean;
}

/** Phrases of the demo notice, one per language; their presence in an assistant message means "already said". */
export const NOTICE_MARKERS = ['built-in local demo model', '内置的本地演示模型'] as const;

/**
 * The most characters of the user's message the demo model reads: it searches, plans and quotes
 * from this much at most, so a megabyte of message costs it no more than a paragraph.
 */
export const MAX_QUESTION_CHARS = 2000;

const HAN = /\p{Script=Han}/gu;
const LATIN_WORD = /[A-Za-z]+/g;

/**
 * The language to answer `text` in: Chinese when it has at least as many Han characters as Latin
 * words ("什么是 SSE？" is Chinese, "What does 背压 mean?" is English), English otherwise.
 * @param text - the user's question
 * @returns `'zh'` or `'en'`
 */
export function detectLanguage(text: string): AnswerLanguage {
  const han = text.match(HAN)?.length ?? 0;
  const words = text.match(LATIN_WORD)?.length ?? 0;
  return han > 0 && han >= words ? 'zh' : 'en';
}

/**
 * The plain text of a message: its string content, or its text parts joined by blank lines.
 * @param message - any chat message
 * @returns the text, `''` when it has none
 */
export function messageText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .filter((part): part is Extract<MessagePart, { type: 'text' }> => part.type === 'text')
    .map((part) => part.text)
    .join('\n\n');
}

/**
 * Reads a conversation for the demo model.
 * @param messages - the request's messages, oldest first
 * @returns the question, its language, pending tool results, and whether the notice was given
 */
export function readConversation(messages: readonly ChatMessage[]): ConversationReading {
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      lastUser = i;
      break;
    }
  }
  const text = lastUser >= 0 ? messageText(messages[lastUser] as ChatMessage).trim() : '';
  const cut = text.length > MAX_QUESTION_CHARS;
  // Never half a surrogate pair at the cut.
  const end = cut && /[\uD800-\uDBFF]/.test(text[MAX_QUESTION_CHARS - 1] ?? '') ? MAX_QUESTION_CHARS - 1 : MAX_QUESTION_CHARS;
  const question = cut ? text.slice(0, end).trimEnd() : text;
  const toolResults: PendingToolResult[] = [];
  const last = messages.at(-1);
  const endsWithToolResult =
    last !== undefined && last.role !== 'user' && typeof last.content !== 'string' && last.content.some((part) => part.type === 'tool-result');
  if (endsWithToolResult) {
    for (const message of messages.slice(lastUser + 1)) {
      if (typeof message.content === 'string') continue;
      for (const part of message.content) if (part.type === 'tool-result') toolResults.push(part);
    }
  }
  const introduced = messages.some(
    (message) => message.role === 'assistant' && NOTICE_MARKERS.some((marker) => messageText(message).includes(marker)),
  );
  const reading: ConversationReading = { question, language: detectLanguage(question), toolResults, introduced };
  if (cut) reading.cut = true;
  return reading;
}
