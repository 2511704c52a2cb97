/**
 * The agent events as the page reads them: the wire names of DESIGN.md, with fields read
 * defensively (an event from a newer or older server must never break the page).
 */

/** One agent event, parsed from an SSE `data` field. */
export interface PageEvent {
  type: string;
  [field: string]: unknown;
}

/** Parses an event's `data`; undefined when it is not a JSON object with a `type`. */
export function parseEvent(data: string): PageEvent | undefined {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') return value as PageEvent;
  } catch {
    return undefined;
  }
  return undefined;
}

/** A string field, or undefined. */
export function str(event: PageEvent, field: string): string | undefined {
  const value = event[field];
  return typeof value === 'string' ? value : undefined;
}

/** A finite number field, or undefined. */
export function num(event: PageEvent, field: string): number | undefined {
  const value = event[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A value as short readable text: strings as they are, everything else as indented JSON. */
export function show(value: unknown, max = 4000): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/** Creates an element with a class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
