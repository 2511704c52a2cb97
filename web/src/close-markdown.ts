/**
 * Markdown cut short (a stop, an error, or simply the next token not here yet) rendered as if it
 * were closed: an open code fence, code span or `**` is closed at the end of the text, so a stop in
 * the middle of `` `createSse `` shows `createSse` as code, not a stray backtick.
 */

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Appends what closes the Markdown constructs still open at the end of `source`: a code fence, then
 * (outside a fence) a code span and `**` of the last paragraph, innermost first.
 * @param source - Markdown that may stop anywhere
 * @returns `source` with the closers appended ('' appended when nothing is open)
 */
export function closeOpenMarkdown(source: string): string {
  const lines = source.split('\n');
  // A fence still being typed ("`" or "``" alone on the last line) is not shown until it is one.
  if (lines.length > 0 && /^ {0,3}`{1,2}$/.test(lines.at(-1) ?? '')) {
    return closeOpenMarkdown(source.slice(0, source.length - (lines.at(-1) ?? '').length));
  }
  let fence: string | undefined;
  let paragraphStart = 0;
  for (const [index, line] of lines.entries()) {
    const marker = FENCE_LINE.exec(line)?.[1];
    if (fence === undefined) {
      if (marker !== undefined) fence = marker;
      else if (line.trim() === '') paragraphStart = index + 1;
    } else if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) {
      fence = undefined;
      paragraphStart = index + 1;
    }
  }
  if (fence !== undefined) return `${source}${source.endsWith('\n') ? '' : '\n'}${fence}`;

  // The last paragraph: inline code spans (a run of n backticks closed by the next run of n) and
  // `**` outside them, backslash escapes skipped.
  const paragraph = lines.slice(paragraphStart).join('\n');
  const open: string[] = [];
  let codeTicks = 0;
  for (let i = 0; i < paragraph.length; ) {
    const char = paragraph[i];
    if (codeTicks === 0 && char === '\\') {
      i += 2;
      continue;
    }
    if (char === '`') {
      let run = 1;
      while (paragraph[i + run] === '`') run++;
      if (codeTicks === 0) {
        codeTicks = run;
        open.push('`'.repeat(run));
      } else if (run === codeTicks) {
        codeTicks = 0;
        open.pop();
      }
      i += run;
      continue;
    }
    if (codeTicks === 0 && char === '*' && paragraph[i + 1] === '*') {
      if (open.at(-1) === '**') open.pop();
      else open.push('**');
      i += 2;
      continue;
    }
    i++;
  }
  if (open.length === 0) return source;
  // A closing `**` after trailing spaces is not right-flanking: it goes right after the text.
  const trimmed = open.at(-1)?.startsWith('`') === true ? source : source.replace(/\s+$/, '');
  return trimmed + [...open].reverse().join('');
}
