/**
 * A card per tool call: its name, its input as it grows (`tool-call-delta`), then the parsed
 * input (`tool-call`), an approval box with Approve / Deny when the tool needs a person's decision
 * (`approval-request`, updated by `approval-response` whichever tab or client answered), its
 * progress, intermediate data, and its result, error or denial.
 */
import { el, num, show, str, type PageEvent } from './events.ts';
import { createProgressBar, type ProgressBar } from './progress-bar.ts';

/** One tool call's card. */
export interface ToolCard {
  readonly element: HTMLDetailsElement;
  apply(event: PageEvent): void;
  /**
   * The stream ended: an approval still waiting can no longer be answered, and a call still
   * preparing or running (no result, error or denial came) shows as interrupted.
   */
  settle(): void;
}

/** Sends a decision on an approval; resolves with the server's status (202, or 409 when another tab was first). */
export type AnswerApproval = (approvalId: string, approved: boolean) => Promise<number>;

/** Creates a {@link ToolCard}. */
export function createToolCard(toolCallId: string, toolName: string, answerApproval?: AnswerApproval): ToolCard {
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
  let approval: { box: HTMLElement; buttons: HTMLButtonElement[]; text: HTMLElement } | undefined;

  const askApproval = (approvalId: string): void => {
    const box = el('div', 'approval');
    box.dataset.approvalId = approvalId;
    const text = el('span', 'approval-text', 'This tool needs your approval before it runs.');
    const approve = el('button', 'primary', 'Approve');
    const deny = el('button', undefined, 'Deny');
    const buttons = [approve, deny];
    for (const [button, approved] of [
      [approve, true],
      [deny, false],
    ] as const) {
      button.type = 'button';
      button.addEventListener('click', () => {
        for (const b of buttons) b.disabled = true;
        text.textContent = approved ? 'Approving…' : 'Denying…';
        void (answerApproval?.(approvalId, approved) ?? Promise.resolve(0)).then(
          (status) => {
            // 409: another tab (or the timeout) answered first; its `approval-response` says how.
            if (status === 409) text.textContent = 'Already answered elsewhere.';
            else if (status !== 202) {
              text.textContent = `The answer was not accepted (HTTP ${status}).`;
              for (const b of buttons) b.disabled = false;
            }
          },
          () => {
            text.textContent = 'The answer could not be sent; try again.';
            for (const b of buttons) b.disabled = false;
          },
        );
      });
    }
    box.append(text, approve, deny);
    body.append(box);
    approval = { box, buttons, text };
    state.textContent = 'waiting for approval';
    element.dataset.state = 'approval';
    element.open = true;
  };

  return {
    element,
    apply(event) {
      switch (event.type) {
        case 'approval-request':
          askApproval(str(event, 'approvalId') ?? '');
          break;
        case 'approval-response': {
          if (approval === undefined) break;
          const approved = event['approved'] === true;
          const reason = str(event, 'reason');
          for (const b of approval.buttons) b.remove();
          approval.text.textContent = approved ? 'Approved.' : `Denied${reason === undefined ? '' : ` (${reason})`}.`;
          approval.box.dataset.decision = approved ? 'approved' : 'denied';
          state.textContent = approved ? 'running…' : 'denied';
          element.dataset.state = approved ? 'running' : 'denied';
          break;
        }
        case 'tool-output-denied':
          state.textContent = 'denied';
          element.dataset.state = 'denied';
          break;
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
    settle() {
      const unfinished = element.dataset.state === 'input' || element.dataset.state === 'running';
      if (unfinished) {
        state.textContent = 'interrupted';
        element.dataset.state = 'interrupted';
      }
      if (approval === undefined || approval.box.dataset.decision !== undefined) return;
      for (const b of approval.buttons) b.remove();
      approval.text.textContent = 'No longer waiting for an answer.';
    },
  };
}
