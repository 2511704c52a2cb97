/**
 * A panel of the streams view: a titled box with a row of controls and an output area.
 */
import { el } from './events.ts';

/** A panel's parts. */
export interface Panel {
  element: HTMLElement;
  row: HTMLElement;
  output: HTMLElement;
  /** Shows a line of status in the panel (an error in red). */
  say(message: string, kind?: 'info' | 'error'): void;
}

/** Creates a {@link Panel}. */
export function createPanel(id: string, title: string, description: string): Panel {
  const element = el('section', 'panel');
  element.id = id;
  const row = el('div', 'row');
  const output = el('div', 'output');
  const status = el('div', 'note');
  status.setAttribute('role', 'status');
  element.append(el('h2', undefined, title), el('div', 'label', description), row, output, status);
  return {
    element,
    row,
    output,
    say(message, kind = 'info') {
      status.textContent = message;
      status.className = kind === 'error' ? 'note error' : 'note';
    },
  };
}

/** A button. */
export function button(text: string, className?: string): HTMLButtonElement {
  const node = el('button', className, text);
  node.type = 'button';
  return node;
}

/** What to say when a route answered with an error status. */
export function describeStatus(route: string, status: number): string {
  if (status === 404) return `This server does not serve ${route} (404): it may be an older sluice.`;
  if (status === 401) return `${route} needs an API key (401): enter it above.`;
  return `${route} answered ${status}.`;
}
