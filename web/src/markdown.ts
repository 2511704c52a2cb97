/**
 * Markdown rendered while it streams: marked turns the text into HTML and DOMPurify cleans it on
 * every render, so the model's own HTML never reaches the page as markup. Renders wait for the
 * next animation frame (many deltas, one render), and finished blocks (up to the last blank line
 * outside a code fence) are rendered once and kept, so only the tail is rendered again: a long
 * answer costs time close to linear in its length.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';
import { closeOpenMarkdown } from './close-markdown.ts';

const FENCE = /^ {0,3}(```|~~~)/gm;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // Links from the model open elsewhere and tell nothing about this page.
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/** Markdown source to sanitized HTML. */
export function renderMarkdownHtml(source: string): string {
  const html = marked.parse(source, { async: false, gfm: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

/** A growing Markdown text shown in an element. */
export interface MarkdownView {
  /** The element holding the rendered text. */
  readonly element: HTMLElement;
  /** Adds text; the render happens on the next animation frame. */
  append(delta: string): void;
  /** Renders what is pending now (at the end of a text part). */
  flush(): void;
  /** The whole source so far. */
  text(): string;
}

/**
 * Creates a {@link MarkdownView}.
 * @param onRender - called after each render (auto-scroll)
 */
export function createMarkdownView(onRender: () => void = () => {}): MarkdownView {
  const element = document.createElement('div');
  element.className = 'markdown';
  const done = document.createElement('div');
  const tail = document.createElement('div');
  element.append(done, tail);
  const chunks: string[] = [];
  let source = '';
  let committed = 0;
  let fences = 0;
  let frame: number | undefined;

  const render = (): void => {
    frame = undefined;
    if (chunks.length > 0) {
      source += chunks.join('');
      chunks.length = 0;
    }
    // Keep finished blocks: everything up to the last blank line, when no code fence is open there.
    const boundary = source.lastIndexOf('\n\n');
    if (boundary > committed) {
      const block = source.slice(committed, boundary);
      const open = (fences + (block.match(FENCE)?.length ?? 0)) % 2 === 1;
      if (!open) {
        const kept = document.createElement('div');
        kept.innerHTML = renderMarkdownHtml(block);
        done.append(kept);
        fences += block.match(FENCE)?.length ?? 0;
        committed = boundary;
      }
    }
    // The tail may stop anywhere (mid code span, mid fence): rendered as if closed, no stray backtick.
    tail.innerHTML = renderMarkdownHtml(closeOpenMarkdown(source.slice(committed)));
    onRender();
  };

  return {
    element,
    append(delta) {
      chunks.push(delta);
      frame ??= requestAnimationFrame(render);
    },
    flush() {
      if (frame !== undefined) cancelAnimationFrame(frame);
      render();
    },
    text: () => source + chunks.join(''),
  };
}
