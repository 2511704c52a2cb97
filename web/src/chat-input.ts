/**
 * The chat's input: Enter sends (Shift+Enter is a new line), the send button becomes a stop
 * button while an answer streams, and nothing starts a second generation meanwhile.
 */
import type { Chat } from './chat.ts';

/** The input's elements. */
export interface ChatInputElements {
  form: HTMLFormElement;
  input: HTMLTextAreaElement;
  send: HTMLButtonElement;
  stop: HTMLButtonElement;
  clear: HTMLButtonElement;
  model: HTMLSelectElement;
}

/** Wires the input to the chat. */
export function setUpChatInput(chat: () => Chat, elements: ChatInputElements): { setBusy(busy: boolean): void; returnQuestion(question: string): void } {
  const { form, input, send, stop, clear, model } = elements;

  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    // One generation at a time: Enter during an answer does nothing.
    if (!chat().busy()) form.requestSubmit();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (question === '' || chat().busy()) return;
    input.value = '';
    chat().send(question, model.value);
  });
  stop.addEventListener('click', () => chat().stop());
  clear.addEventListener('click', () => chat().clear());

  return {
    setBusy(busy) {
      send.disabled = busy;
      send.hidden = busy;
      stop.hidden = !busy;
      stop.disabled = !busy;
      clear.disabled = busy;
      if (!busy) input.focus();
    },
    returnQuestion(question) {
      if (input.value === '') input.value = question;
    },
  };
}
