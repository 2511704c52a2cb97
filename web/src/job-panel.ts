/**
 * Streams view: a long job (`POST /v1/jobs`, kind report or analysis) and its events
 * (`GET /v1/jobs/:id/events`): a progress bar that moves, intermediate data, then the end.
 */
import { fetchEventStream } from '../../src/sse/client.ts';
import { apiFetch, authHeaders, describeError, httpStatus } from './api.ts';
import { el, num, parseEvent, show, str } from './events.ts';
import { button, createPanel, describeStatus, type Panel } from './panel.ts';
import { createProgressBar } from './progress-bar.ts';

/** Creates the job panel. */
export function createJobPanel(): Panel {
  const panel = createPanel('job', 'Long job', 'Start a report or an analysis: progress, intermediate data, then the result.');
  const kind = el('select');
  kind.setAttribute('aria-label', 'job kind');
  kind.append(new Option('report', 'report'), new Option('analysis', 'analysis'));
  const start = button('Start job', 'primary');
  panel.row.append(kind, start);

  start.addEventListener('click', () => {
    start.disabled = true;
    const bar = createProgressBar();
    const data = el('pre', 'job-data');
    panel.output.replaceChildren(bar.element, data);
    panel.say('Starting…');
    void (async () => {
      try {
        const response = await apiFetch('/v1/jobs', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(kind.value === 'report' ? { kind: 'report', topic: 'streaming responses' } : { kind: 'analysis' }),
        });
        if (!response.ok) {
          panel.say(describeStatus('POST /v1/jobs', response.status), 'error');
          return;
        }
        const { id } = (await response.json()) as { id?: string };
        if (typeof id !== 'string') throw new Error('the server did not answer a job id');
        panel.element.dataset.jobId = id;
        panel.say(`Job ${id} running…`);
        for await (const sse of fetchEventStream(`/v1/jobs/${encodeURIComponent(id)}/events`, { headers: authHeaders() })) {
          const event = parseEvent(sse.data);
          if (event === undefined) continue;
          if (event.type === 'progress') bar.update(num(event, 'done') ?? 0, num(event, 'total'), str(event, 'message'));
          else if (event.type === 'data') data.append(`${str(event, 'name') ?? 'data'}: ${show('value' in event ? event['value'] : event['data'], 300)}\n`);
          else if (event.type === 'finish') panel.say('Finished.');
          else if (event.type === 'error') panel.say(`The job failed: ${str(event, 'message') ?? 'error'}`, 'error');
          else if (event.type === 'abort') panel.say('The job was stopped.');
        }
      } catch (error) {
        const status = httpStatus(error);
        panel.say(status === undefined ? `The job's stream failed: ${describeError(error)}` : describeStatus('/v1/jobs/:id/events', status), 'error');
      } finally {
        start.disabled = false;
      }
    })();
  });
  return panel;
}
