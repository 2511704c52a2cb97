/**
 * Streams view: a large download read chunk by chunk with a reader, its progress from
 * `Content-Length`, and its speed.
 */
import { apiFetch, describeError } from './api.ts';
import { button, createPanel, describeStatus, type Panel } from './panel.ts';
import { createProgressBar } from './progress-bar.ts';

const FILE = '/v1/files/large-sample.bin';

/** Creates the download panel. */
export function createDownloadPanel(): Panel {
  const panel = createPanel('download', 'Large download', `GET ${FILE}: the body read with a reader, progress from Content-Length.`);
  const start = button('Download', 'primary');
  const cancel = button('Cancel');
  cancel.disabled = true;
  panel.row.append(start, cancel);
  let controller: AbortController | undefined;

  start.addEventListener('click', () => {
    controller = new AbortController();
    const { signal } = controller;
    start.disabled = true;
    cancel.disabled = false;
    // One figure everywhere: the bar and the closing message both count MiB received.
    const bar = createProgressBar('', (done, total) => (total === undefined ? `${mib(done)} MiB` : `${mib(done)} of ${mib(total)} MiB`));
    panel.output.replaceChildren(bar.element);
    panel.say('');
    void (async () => {
      const started = performance.now();
      let received = 0;
      let total: number | undefined;
      try {
        const response = await apiFetch(FILE, { signal });
        if (!response.ok || response.body === null) {
          panel.say(describeStatus(FILE, response.status), 'error');
          await response.body?.cancel();
          return;
        }
        total = Number(response.headers.get('content-length') ?? '') || undefined;
        const reader = response.body.getReader();
        let lastShown = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.byteLength;
          const now = performance.now();
          if (now - lastShown > 50) {
            lastShown = now;
            bar.update(received, total);
          }
        }
        bar.update(received, total);
        const seconds = (performance.now() - started) / 1000;
        panel.say(`Done: ${mib(received)} MiB in ${seconds.toFixed(2)} s (${(received / 1048576 / Math.max(seconds, 0.001)).toFixed(0)} MiB/s).`);
        panel.element.dataset.done = String(received);
      } catch (error) {
        // The bar shows what was received when it stopped, the same count as the message.
        bar.update(received, total);
        panel.element.dataset.received = String(received);
        panel.say(signal.aborted ? `Cancelled after ${mib(received)} MiB.` : `The download failed: ${describeError(error)}`, signal.aborted ? 'info' : 'error');
      } finally {
        start.disabled = false;
        cancel.disabled = true;
      }
    })();
  });
  cancel.addEventListener('click', () => controller?.abort());
  return panel;
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
