/**
 * The second view (`#streams`): the other kinds of streams the server serves — the numbers demo,
 * a large download, live event push, a long job, and a seekable video.
 */
import { apiFetch, describeError } from './api.ts';
import { createDownloadPanel } from './download-panel.ts';
import { el } from './events.ts';
import { createJobPanel } from './job-panel.ts';
import { button, createPanel, describeStatus, type Panel } from './panel.ts';
import { createPushPanel } from './push-panel.ts';

/** Fills the streams view; `activate` is called each time it is shown. */
export function createStreamsView(root: HTMLElement): { activate(): void } {
  const video = createVideoPanel();
  root.append(createNumbersPanel().element, createDownloadPanel().element, createPushPanel().element, createJobPanel().element, video.panel.element);
  return { activate: video.load };
}

function createNumbersPanel(): Panel {
  const url = '/demo/numbers?count=10&interval_ms=300';
  const panel = createPanel('numbers', 'Numbers', `GET ${url}: plain text, one line per number, shown as each arrives.`);
  const start = button('Run', 'primary');
  panel.row.append(start);
  const out = el('pre', 'numbers-output');
  panel.output.append(out);
  start.addEventListener('click', () => {
    start.disabled = true;
    out.textContent = '';
    panel.say('Streaming…');
    void (async () => {
      try {
        const response = await apiFetch(url);
        if (!response.ok || response.body === null) {
          panel.say(describeStatus('/demo/numbers', response.status), 'error');
          return;
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          out.append(value);
        }
        panel.say('Done.');
      } catch (error) {
        panel.say(`The stream failed: ${describeError(error)}`, 'error');
      } finally {
        start.disabled = false;
      }
    })();
  });
  return panel;
}

function createVideoPanel(): { panel: Panel; load(): void } {
  // Five minutes (made by the server on first use): long enough that the browser does not load it
  // whole, so a seek asks for the bytes it needs with a Range request.
  const src = '/v1/files/sample-video-long.webm';
  const panel = createPanel('video', 'Seekable video', `GET ${src} with Range requests: seek anywhere, only those bytes are sent.`);
  const video = el('video');
  video.controls = true;
  video.preload = 'metadata';
  video.addEventListener('error', () => panel.say(`The video could not be loaded from ${src} (is /v1/files served here?).`, 'error'));
  panel.output.append(video);
  // Loaded when the view is first shown, not with the chat.
  return { panel, load: () => void (video.getAttribute('src') === null && (video.src = src)) };
}
