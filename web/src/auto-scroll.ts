/**
 * Auto-scroll: the page follows the answer as it grows, unless the user has scrolled up to read;
 * scrolling back to the bottom follows again.
 */

/** Distance from the bottom, in pixels, still counted as "at the bottom". */
const NEAR_BOTTOM = 80;

/** Follows the bottom of the page. */
export interface AutoScroll {
  /** Scrolls to the bottom if the user has not scrolled away. */
  follow(): void;
  /** Follows again (a new question was sent). */
  reset(): void;
}

/** Creates an {@link AutoScroll} for the document. */
export function createAutoScroll(): AutoScroll {
  const scroller = document.scrollingElement ?? document.documentElement;
  let stick = true;
  const atBottom = (): boolean => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM;
  window.addEventListener('scroll', () => (stick = atBottom()), { passive: true });
  // A wheel or touch move upwards means "let me read": stop at once, before the next frame scrolls.
  window.addEventListener('wheel', (event) => {
    if (event.deltaY < 0) stick = false;
  }, { passive: true });
  return {
    follow() {
      if (stick) scroller.scrollTop = scroller.scrollHeight;
    },
    reset() {
      stick = true;
      scroller.scrollTop = scroller.scrollHeight;
    },
  };
}
