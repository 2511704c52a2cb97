/**
 * Streams view: real-time event push. Subscribes to a topic (`GET /v1/events?topic=T`, with
 * sluice's fetch client, which sees every event name and can send an API key) and publishes on it
 * (`POST /v1/events`).
 */
import { fetchEventStream } from '../../src/sse/client.ts';
import { apiFetch, authHeaders, describeError, httpStatus } from './api.ts';
import { el } from './events.ts';
import { button, createPanel, describeStatus, type Panel } from './panel.ts';

/** Creates the push panel. */
export function createPushPanel(): Panel {
  const panel = createPanel('push', 'Live event push', 'Subscribe to a topic, then publish on it: every subscriber gets the event at once.');
  const topic = el('input');
  topic.value = 'demo';
  topic.setAttribute('aria-label', 'topic');
  const subscribe = button('Subscribe');
  const form = el('form', 'row');
  const data = el('input');
  data.placeholder = 'message to publish';
  data.setAttribute('aria-label', 'message to publish');
  // The browser refuses to submit an empty message (it would publish a bare `message:` event).
  data.required = true;
  const eventName = el('input');
  eventName.placeholder = 'event name (optional)';
  eventName.setAttribute('aria-label', 'event name');
  eventName.size = 14;
  const publish = el('button', 'primary', 'Publish');
  publish.type = 'submit';
  form.append(eventName, data, publish);
  panel.row.append(topic, subscribe);
  panel.element.insertBefore(form, panel.output);
  const list = el('ol', 'pushed');
  panel.output.append(list);
  let close: (() => void) | undefined;

  const show = (name: string, payload: string): void => {
    list.append(el('li', undefined, `${name}: ${payload}`));
  };

  subscribe.addEventListener('click', () => {
    close?.();
    const url = `/v1/events?topic=${encodeURIComponent(topic.value)}`;
    // sluice's fetch client rather than EventSource: it sees every event name a publisher uses
    // (EventSource only delivers the names it was told to listen for), and it can send an API key.
    // It reconnects with Last-Event-ID like EventSource.
    const controller = new AbortController();
    close = () => controller.abort();
    void (async () => {
      try {
        const events = fetchEventStream(url, {
          headers: authHeaders(),
          signal: controller.signal,
          onOpen: () => panel.say(`Subscribed to “${topic.value}”.`),
          onReconnect: () => panel.say('Reconnecting…'),
        });
        for await (const event of events) show(event.event, event.data);
      } catch (error) {
        if (controller.signal.aborted) return;
        const status = httpStatus(error);
        panel.say(status === undefined ? `The subscription ended: ${describeError(error)}` : describeStatus('/v1/events', status), 'error');
      }
    })();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      try {
        const response = await apiFetch('/v1/events', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // No name: the default `message` event.
          body: JSON.stringify({ topic: topic.value, ...(eventName.value.trim() === '' ? {} : { event: eventName.value.trim() }), data: data.value }),
        });
        if (!response.ok) panel.say(describeStatus('POST /v1/events', response.status), 'error');
        else data.value = '';
        await response.body?.cancel();
      } catch (error) {
        panel.say(`Publishing failed: ${describeError(error)}`, 'error');
      }
    })();
  });
  return panel;
}
