/**
 * A message in the conversation. The assistant's is built from its agent events as they arrive:
 * a collapsible thinking section, Markdown text, a card per tool call, sources, progress, and a
 * closing note (finish, stopped, error).
 */
import { describeAbort } from '../../src/protocol/abort-note.ts';
import { el, num, str, type PageEvent } from './events.ts';
import { createMarkdownView, type MarkdownView } from './markdown.ts';
import { createProgressBar, type ProgressBar } from './progress-bar.ts';
import { createSourceList, type SourceList } from './source-list.ts';
import { createToolCard, type AnswerApproval, type ToolCard } from './tool-card.ts';

/** Shows a user's message. */
export function createUserMessage(content: string): HTMLElement {
  const box = el('article', 'msg user');
  box.append(el('div', 'role', 'you'), content);
  return box;
}

/** An assistant message being built from events. */
export interface AssistantMessage {
  readonly element: HTMLElement;
  /** Applies one event. */
  apply(event: PageEvent): void;
  /** The answer's text so far (what goes back to the model as the assistant turn). */
  text(): string;
  /** Adds a closing note that no event gave (the connection gave up, a local stop). */
  note(message: string, kind?: 'info' | 'error'): void;
  /** Marks the message as no longer streaming. */
  settle(): void;
  /** This page asked for the stop (its `abort` then reads "stopped (by you)"). */
  stopRequested(): void;
  /** Whether the answer ended in an error (an `error` event or an error note). */
  failed(): boolean;
  /** Shows a "Regenerate" button that calls `regenerate` (once); removed by {@link withdrawRegenerate}. */
  offerRegenerate(regenerate: () => void): void;
  /** Removes the "Regenerate" button, if shown. */
  withdrawRegenerate(): void;
}

/**
 * Creates an {@link AssistantMessage}.
 * @param onRender - called after anything visible changed (auto-scroll)
 * @param answerApproval - sends a decision on an approval request of this message's stream
 */
export function createAssistantMessage(onRender: () => void, answerApproval?: AnswerApproval): AssistantMessage {
  const element = el('article', 'msg assistant streaming');
  element.append(el('div', 'role', 'assistant'));
  const body = el('div', 'body');
  element.append(body);
  const texts = new Map<string, MarkdownView>();
  const thinking = new Map<string, { details: HTMLDetailsElement; text: HTMLElement; summary: HTMLElement; started: number }>();
  const tools = new Map<string, ToolCard>();
  /** The card of each approval request, for its `approval-response` (which names only the approval). */
  const approvals = new Map<string, ToolCard>();
  const progress = new Map<string, ProgressBar>();
  let sources: SourceList | undefined;
  let answer = '';
  let stoppedHere = false;
  let failed = false;
  let regenerateButton: HTMLButtonElement | undefined;

  const textView = (id: string): MarkdownView => {
    let view = texts.get(id);
    if (view === undefined) {
      view = createMarkdownView(onRender);
      view.element.dataset.textId = id;
      texts.set(id, view);
      body.append(view.element);
    }
    return view;
  };

  const toolCard = (event: PageEvent): ToolCard | undefined => {
    const id = str(event, 'toolCallId');
    if (id === undefined) return undefined;
    let card = tools.get(id);
    if (card === undefined) {
      card = createToolCard(id, str(event, 'toolName') ?? 'tool', answerApproval);
      tools.set(id, card);
      body.append(card.element);
    }
    return card;
  };

  const note = (message: string, kind: 'info' | 'error' = 'info'): void => {
    if (kind === 'error') failed = true;
    element.append(el('div', kind === 'error' ? 'note error' : 'note', message));
    onRender();
  };

  const apply = (event: PageEvent): void => {
    switch (event.type) {
      case 'reasoning-start':
      case 'reasoning-delta': {
        const id = str(event, 'id') ?? '';
        let part = thinking.get(id);
        if (part === undefined) {
          const details = el('details', 'thinking');
          details.open = true;
          const summary = el('summary', undefined, 'Thinking…');
          const text = el('div', 'thinking-text');
          details.append(summary, text);
          body.append(details);
          part = { details, text, summary, started: performance.now() };
          thinking.set(id, part);
        }
        if (event.type === 'reasoning-delta') part.text.append(str(event, 'delta') ?? '');
        break;
      }
      case 'reasoning-end': {
        const part = thinking.get(str(event, 'id') ?? '');
        if (part !== undefined) {
          part.summary.textContent = 'Thinking (click to show)';
          part.details.open = false;
        }
        break;
      }
      case 'text-start':
        textView(str(event, 'id') ?? '');
        break;
      case 'text-delta': {
        const delta = str(event, 'delta') ?? '';
        answer += delta;
        textView(str(event, 'id') ?? '').append(delta);
        return;
      }
      case 'text-end':
        texts.get(str(event, 'id') ?? '')?.flush();
        break;
      case 'tool-call-start':
      case 'tool-call-delta':
      case 'tool-call':
      case 'tool-result':
      case 'tool-error':
      case 'tool-output-denied':
        toolCard(event)?.apply(event);
        break;
      case 'approval-request': {
        const card = toolCard(event);
        card?.apply(event);
        if (card !== undefined) approvals.set(str(event, 'approvalId') ?? '', card);
        break;
      }
      case 'approval-response':
        approvals.get(str(event, 'approvalId') ?? '')?.apply(event);
        break;
      case 'source':
        if (sources === undefined) {
          sources = createSourceList();
          body.append(el('div', 'label', 'sources'), sources.element);
        }
        sources.add(event);
        break;
      case 'progress':
      case 'data': {
        const card = str(event, 'toolCallId') === undefined ? undefined : toolCard(event);
        if (card !== undefined) {
          card.apply(event);
        } else if (event.type === 'progress') {
          const key = str(event, 'id') ?? '';
          let bar = progress.get(key);
          if (bar === undefined) {
            bar = createProgressBar();
            progress.set(key, bar);
            body.append(bar.element);
          }
          bar.update(num(event, 'done') ?? 0, num(event, 'total'), str(event, 'message'));
        }
        break;
      }
      case 'finish':
        settle();
        note(`finished (${str(event, 'finishReason') ?? 'stop'})`);
        element.dataset.end = 'finish';
        return;
      case 'error':
        settle();
        note(`error: ${str(event, 'message') ?? 'the generation failed'}${str(event, 'code') === undefined ? '' : ` (${str(event, 'code')})`}`, 'error');
        element.dataset.end = 'error';
        return;
      case 'abort':
        settle();
        note(describeAbort(str(event, 'reason'), stoppedHere));
        element.dataset.end = 'abort';
        return;
      default:
        return;
    }
    onRender();
  };

  const settle = (): void => {
    for (const view of texts.values()) view.flush();
    for (const card of tools.values()) card.settle();
    element.classList.remove('streaming');
  };

  return {
    element,
    apply,
    text: () => answer,
    note,
    settle,
    stopRequested: () => {
      stoppedHere = true;
    },
    failed: () => failed,
    offerRegenerate(regenerate) {
      if (regenerateButton !== undefined) return;
      const button = el('button', 'regenerate', 'Regenerate');
      button.type = 'button';
      button.title = 'Ask the last question again';
      button.addEventListener('click', () => {
        button.remove();
        regenerateButton = undefined;
        regenerate();
      });
      regenerateButton = button;
      element.append(button);
      onRender();
    },
    withdrawRegenerate() {
      regenerateButton?.remove();
      regenerateButton = undefined;
    },
  };
}
