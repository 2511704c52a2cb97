/**
 * A card per tool call: its name, its input as it grows (`tool-call-delta`), then the parsed
 * input (`tool-call`), its progress, intermediate data, and its result or error.
 */
import { el, num, show, str, type PageEvent } from './events.ts';
import { createProgressBar, type ProgressBar } from './progress-bar.ts';

/** One tool call's card. */
export interface ToolCard {
  readonly element: HTMLDetailsElement;
  apply(event: PageEvent): void;
}

/** Creates a {@link ToolCard}. */
export function createToolCard(toolCallId: string, toolName: string): ToolCard {
  const element = el('details', 'tool-card');
  element.open = true;
  element.dataset.toolCallId = toolCallId;
  element.dataset.state = 'input';
  const summary = el('summary');
  const state = el('span', 'tool-state', 'preparing…');
  summary.append(el('span', undefined, `⚙ ${toolName}`), state);
  const body = el('div', 'tool-body');
  const input = el('pre', 'tool-input');
  body.append(el('div', 'label', 'input'), input);
  element.append(summary, body);
  let progress: ProgressBar | undefined;
  let data: HTMLElement | undefined;

  return {
    element,
    apply(event) {
      switch (event.type) {
        case 'tool-call-delta':
          // Appending a text node keeps a long input linear: nothing is re-parsed per delta.
          input.append(str(event, 'delta') ?? '');
          break;
        case 'tool-call':
          input.textContent = show(event['input']);
          state.textContent = 'running…';
          element.dataset.state = 'running';
          break;
        case 'progress': {
          if (progress === undefined) {
            progress = createProgressBar();
            body.append(progress.element);
          }
          progress.update(num(event, 'done') ?? 0, num(event, 'total'), str(event, 'message'));
          break;
        }
        case 'data': {
          if (data === undefined) {
            data = el('div', 'tool-data');
            body.append(el('div', 'label', 'data'), data);
          }
          const value = 'value' in event ? event['value'] : event['data'];
          data.append(el('pre', undefined, `${str(event, 'name') ?? 'data'}: ${show(value, 600)}`));
          break;
        }
        case 'tool-result':
          body.append(el('div', 'label', 'result'), el('pre', 'tool-output', show(event['output'])));
          state.textContent = 'done';
          element.dataset.state = 'done';
          element.open = false;
          break;
        case 'tool-error':
          body.append(el('div', 'note error', str(event, 'message') ?? 'the tool failed'));
          state.textContent = 'failed';
          element.dataset.state = 'error';
          break;
      }
    },
  };
}
