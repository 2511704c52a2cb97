/**
 * Sources (RAG hits) listed as they arrive. Only `http:` and `https:` URLs become links: a
 * `javascript:`, `data:` or any other URL from a model or a tool is shown as text, never made
 * clickable.
 */
import { el, num, str, type PageEvent } from './events.ts';

const LINKABLE = new Set(['http:', 'https:']);

/** The URL as a link target when it is an absolute `http:`/`https:` URL, else undefined. */
export function safeHref(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    return LINKABLE.has(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** The `<ol>` of a message's sources. */
export interface SourceList {
  readonly element: HTMLOListElement;
  add(event: PageEvent): void;
}

/** Creates a {@link SourceList}; it stays hidden until the first source. */
export function createSourceList(): SourceList {
  const element = el('ol', 'sources');
  element.hidden = true;
  const seen = new Set<string>();
  return {
    element,
    add(event) {
      const id = str(event, 'id') ?? String(seen.size);
      if (seen.has(id)) return;
      seen.add(id);
      element.hidden = false;
      const url = str(event, 'url');
      const title = str(event, 'title') ?? url ?? id;
      const item = el('li', 'source');
      const href = safeHref(url);
      if (href !== undefined) {
        const link = el('a', undefined, title);
        link.href = href;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        item.append(link);
      } else {
        item.append(el('span', 'source-title', title));
        if (url !== undefined && url !== title) item.append(' ', el('span', 'label', `(${url})`));
      }
      const score = num(event, 'score');
      if (score !== undefined) item.append(' ', el('span', 'label', `score ${score.toFixed(2)}`));
      const snippet = str(event, 'snippet');
      if (snippet !== undefined) item.append(el('span', 'snippet', snippet));
      element.append(item);
    },
  };
}
