/**
 * A progress bar for `progress` events (`done` of `total`, never going back).
 */
import { el } from './events.ts';

/** A labelled `<progress>`. */
export interface ProgressBar {
  readonly element: HTMLElement;
  update(done: number, total: number | undefined, message?: string): void;
}

/**
 * Creates a {@link ProgressBar}.
 * @param label - shown before the count
 * @param formatCount - how the count reads (default `done/total`, or `done` without a total)
 */
export function createProgressBar(label = '', formatCount?: (done: number, total: number | undefined) => string): ProgressBar {
  const element = el('div', 'progress-line');
  const bar = el('progress');
  const text = el('span');
  element.append(bar, text);
  let shown = 0;
  return {
    element,
    update(done, total, message) {
      // `done` never goes back; a replayed or reordered event must not move the bar backwards.
      shown = Math.max(shown, done);
      if (total !== undefined && total > 0) {
        bar.max = total;
        bar.value = Math.min(shown, total);
      } else {
        bar.removeAttribute('value');
      }
      const count = formatCount !== undefined ? formatCount(shown, total) : total === undefined ? String(shown) : `${shown}/${total}`;
      text.textContent = [label, count, message].filter((part) => part !== undefined && part !== '').join(' · ');
    },
  };
}
