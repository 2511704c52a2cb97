/**
 * The page renders Markdown cut short as if it were closed (web/src/close-markdown.ts): a stop in
 * the middle of a code span, a fence or `**` leaves no stray backtick or asterisks on the page.
 * Rendered with marked, the parser the page uses.
 */
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { closeOpenMarkdown } from '../web/src/close-markdown.ts';

const html = (source: string): string => marked.parse(closeOpenMarkdown(source), { async: false, gfm: true });
const text = (source: string): string => html(source).replace(/<[^>]+>/g, '');

describe('closeOpenMarkdown', () => {
  it('closes a code span cut short: no stray backtick, the code shown as code', () => {
    expect(closeOpenMarkdown('Call `createSse')).toBe('Call `createSse`');
    expect(html('Call `createSse')).toContain('<code>createSse</code>');
    expect(text('Call `createSse')).not.toContain('`');
    // A double-backtick span, and a span across lines of one paragraph.
    expect(html('Use ``a ` b')).toContain('<code>a ` b</code>');
    expect(html('one `two\nthree')).toContain('<code>two three</code>');
  });

  it('closes an open fence and a fence still being typed', () => {
    expect(closeOpenMarkdown('Code:\n\n```ts\nconst a = 1;')).toBe('Code:\n\n```ts\nconst a = 1;\n```');
    expect(html('Code:\n\n```ts\nconst a = 1;')).toContain('<code class="language-ts">const a = 1;\n</code>');
    expect(text('Code:\n\n```')).not.toContain('`');
    expect(text('Code:\n\n``')).not.toContain('`');
    expect(text('Code:\n\n`')).not.toContain('`');
    expect(text('~~~\nx')).not.toContain('~');
  });

  it('closes bold cut short, and code inside it innermost first', () => {
    expect(html('**Backpr')).toContain('<strong>Backpr</strong>');
    expect(closeOpenMarkdown('**use `foo')).toBe('**use `foo`**');
    expect(text('**use `foo')).not.toMatch(/[`*]/);
  });

  it('leaves complete Markdown and escaped or fenced backticks alone', () => {
    for (const done of ['Call `createSse` now.', 'a \\` b', '```\n`\n```\n', '**bold** and `code`', '- * item', 'plain\n\ntext']) {
      expect(closeOpenMarkdown(done)).toBe(done);
    }
    // Only the last paragraph is read: a closed span before a blank line does not count.
    expect(closeOpenMarkdown('`a`\n\nb `c')).toBe('`a`\n\nb `c`');
  });
});
