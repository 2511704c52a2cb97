/**
 * Turns a tool's output into a few readable lines for the local demo model's answer.
 *
 * @module
 */
import type { AnswerLanguage, PendingToolResult } from './read-conversation.ts';

const MAX_ITEMS = 5;
const MAX_ITEM_CHARS = 160;
const MAX_TEXT_CHARS = 600;

/** The most characters of the user's message the demo model quotes in its thinking, text or a tool's input. */
export const MAX_EXCERPT = 200;

/**
 * Cuts `text` to about `max` characters at a word or character boundary, never inside a surrogate
 * pair, with runs of white space as one space. Only the start of a long text is looked at, so the
 * cost does not grow with the text.
 */
export function truncate(text: string, max: number): string {
  // Twice `max` code points of collapsed text need at most this many UTF-16 units of it… unless
  // the text is mostly white space; then `cut` says there was more.
  const limit = max * 8;
  const trimmed = text.trim();
  const head = trimmed.length > limit ? trimmed.slice(0, limit) : trimmed;
  const chars = Array.from(head.replace(/\s+/g, ' ').trim());
  if (chars.length <= max && head.length === trimmed.length) return chars.join('');
  const cut = chars.slice(0, max).join('');
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd() + '…';
}

/**
 * An excerpt of the user's text for a tool's input: the text itself when it has at most `max`
 * characters (white space kept), else its first `max` characters (back to a space when there is
 * one near the end), trimmed, and an ellipsis. Never cuts a surrogate pair.
 * @param text - the user's text
 * @param max - the most characters kept @defaultValue {@link MAX_EXCERPT}
 * @returns the excerpt, at most `max` + 1 characters
 */
export function excerpt(text: string, max = MAX_EXCERPT): string {
  // Every code point is one or two UTF-16 units: a text this short has at most `max` of them.
  if (text.length <= max) return text;
  const chars = Array.from(text.slice(0, max * 2 + 2));
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max).join('');
  const space = cut.search(/\s\S*$/u);
  return (space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd() + '…';
}

function safeJson(value: unknown, indent?: number): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent) ?? String(value);
  } catch {
    // A cyclic or otherwise unserialisable output: its string form is the best the demo can show.
    return String(value);
  }
}

function pick(record: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

const TITLE_KEYS = ['title', 'name', 'id', 'url'];
const BODY_KEYS = ['snippet', 'summary', 'text', 'content', 'description', 'answer', 'result', 'value'];

function describeItem(item: unknown): string {
  if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
    const record = item as Record<string, unknown>;
    const title = pick(record, TITLE_KEYS);
    const body = pick(record, BODY_KEYS);
    if (title !== undefined && body !== undefined) return `**${truncate(title, 80)}**: ${truncate(body, MAX_ITEM_CHARS)}`;
    if (title !== undefined || body !== undefined) return truncate(title ?? body ?? '', MAX_ITEM_CHARS);
  }
  return truncate(typeof item === 'string' ? item : safeJson(item), MAX_ITEM_CHARS);
}

/**
 * Summarises one tool result: an error says so; a string is quoted (cut to ~600 characters); a list
 * shows its first five items as bullets (title and snippet when they have them); an object with a
 * text-like field shows that field, any other value its JSON.
 * @param result - the tool result part
 * @param language - the answer's language
 * @returns markdown lines
 */
export function summarizeToolResult(result: PendingToolResult, language: AnswerLanguage): string {
  const name = `\`${result.toolName}\``;
  const output = result.output;
  if (result.isError === true) {
    const message = truncate(typeof output === 'string' ? output : safeJson(output), MAX_ITEM_CHARS);
    return language === 'zh' ? `工具 ${name} 调用失败：${message}` : `The ${name} tool failed: ${message}`;
  }
  const items = Array.isArray(output)
    ? output
    : typeof output === 'object' && output !== null && Array.isArray((output as Record<string, unknown>)['results'])
      ? ((output as Record<string, unknown>)['results'] as unknown[])
      : undefined;
  if (items !== undefined) {
    const head =
      language === 'zh' ? `工具 ${name} 返回了 ${items.length} 条结果：` : `The ${name} tool returned ${items.length} result${items.length === 1 ? '' : 's'}:`;
    const lines = items.slice(0, MAX_ITEMS).map((item) => `- ${describeItem(item)}`);
    if (items.length > MAX_ITEMS) lines.push(language === 'zh' ? `- ……另有 ${items.length - MAX_ITEMS} 条` : `- … and ${items.length - MAX_ITEMS} more`);
    return [head, ...lines].join('\n');
  }
  const head = language === 'zh' ? `工具 ${name} 返回：` : `The ${name} tool returned:`;
  if (typeof output === 'string') return `${head}\n> ${truncate(output, MAX_TEXT_CHARS)}`;
  if (typeof output === 'object' && output !== null) {
    const body = pick(output as Record<string, unknown>, BODY_KEYS);
    if (body !== undefined) return `${head}\n> ${truncate(body, MAX_TEXT_CHARS)}`;
    const json = safeJson(output, 2);
    const shown = json.length > MAX_TEXT_CHARS ? truncate(safeJson(output), MAX_TEXT_CHARS) : json;
    return `${head}\n\`\`\`json\n${shown}\n\`\`\``;
  }
  return `${head} ${safeJson(output)}`;
}
