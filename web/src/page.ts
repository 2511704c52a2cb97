/**
 * The page: the chat view (`#chat`, the default) and the streams view (`#streams`), the model
 * picker, and the API key form.
 */
import { apiFetch, onKey, setUpKeyForm } from './api.ts';
import { createChat, type Chat } from './chat.ts';
import { setUpChatInput } from './chat-input.ts';
import { createStreamsView } from './streams-view.ts';

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`The page has no #${id}.`);
  return node as T;
}

async function loadModels(select: HTMLSelectElement): Promise<void> {
  try {
    const response = await apiFetch('/v1/models');
    if (!response.ok) return;
    const { data } = (await response.json()) as { data?: { id: string }[] };
    select.replaceChildren(...(data ?? []).map(({ id }) => new Option(id, id)));
  } catch {
    // The chat works with the server's default model.
  }
}

function showView(): void {
  const view = location.hash === '#streams' ? 'streams' : 'chat';
  for (const name of ['chat', 'streams']) {
    byId(`view-${name}`).hidden = name !== view;
    if (name === view && view === 'streams') streams.activate();
    const tab = byId(`tab-${name}`);
    if (name === view) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
}

const model = byId<HTMLSelectElement>('model');
setUpKeyForm();
const input = setUpChatInput(() => chat, {
  form: byId('chat-form'),
  input: byId('input'),
  send: byId('send'),
  stop: byId('stop'),
  clear: byId('clear'),
  model,
});
const chat: Chat = createChat(byId('log'), { onBusy: (busy) => input.setBusy(busy), onReturnQuestion: (question) => input.returnQuestion(question) });
const streams = createStreamsView(byId('view-streams'));
onKey(() => void loadModels(model));
window.addEventListener('hashchange', showView);
showView();
void loadModels(model);
