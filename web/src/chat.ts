/**
 * The chat: sends a question (`POST /v1/chat`), shows the answer as its events stream in, one
 * generation at a time; stops it (`DELETE /v1/streams/:id`, then the stream shows the `abort`);
 * and keeps the conversation and the stream in progress in `localStorage`, so after a reload the
 * answer comes back and continues from its last event (`GET /v1/streams/:id` with
 * `Last-Event-ID`), with no second `POST`.
 */
import { fetchEventStream, STREAM_ID_HEADER } from '../../src/sse/client.ts';
import { describeAbort } from '../../src/protocol/abort-note.ts';
import { SseConnectionError } from '../../src/sse/errors.ts';
import { apiFetch, askForKey, authHeaders, describeError, httpStatus, isUnauthorized, setStatus } from './api.ts';
import { createAutoScroll } from './auto-scroll.ts';
import { parseEvent, type PageEvent } from './events.ts';
import { createAssistantMessage, createUserMessage, type AssistantMessage } from './message.ts';
import type { AnswerApproval } from './tool-card.ts';
import { CHAT_STORAGE_KEY, clearChat, loadChat, recordEvent, saveChat, type SavedChat, type Turn } from './storage.ts';

/** Events that end a stream. */
const TERMINAL = new Set(['finish', 'error', 'abort']);
/** How long the stop button waits for the server's `abort` before stopping the request itself. */
const STOP_GRACE_MS = 5000;
/** Reconnection attempts in a row before the page gives up. */
const MAX_RETRIES = 4;
/** The first reconnection delay; it doubles on each failed attempt. */
const RETRY_DELAY_MS = 750;
/** Saves are batched: at most one write per this many milliseconds while streaming. */
const SAVE_EVERY_MS = 250;

/** What the chat tells its input about. */
export interface ChatCallbacks {
  /** A generation started or ended. */
  onBusy(busy: boolean): void;
  /** A question could not be sent (no key yet): give it back to the input. */
  onReturnQuestion(question: string): void;
}

/** The chat controller. */
export interface Chat {
  /** Whether a generation is running (a second one is not started). */
  busy(): boolean;
  /** Sends a question; ignored while a generation runs. */
  send(question: string, model: string | undefined): void;
  /** Stops the running generation. */
  stop(): void;
  /** Forgets the conversation (not while a generation runs). */
  clear(): void;
}

interface Running {
  message: AssistantMessage;
  turn: Turn;
  controller: AbortController;
  streamId: string | undefined;
  lastEventId: string;
  stopping: boolean;
  ended: boolean;
  /** The server answered 401: nothing was generated. */
  unauthorized?: boolean;
}

/**
 * Creates the chat in `log`, showing the saved conversation and resuming its stream in progress.
 */
export function createChat(log: HTMLElement, callbacks: ChatCallbacks): Chat {
  const scroll = createAutoScroll();
  const saved = loadChat();
  const turns: Turn[] = saved.turns;
  let running: Running | undefined;
  let leaving = false;
  let saveTimer: ReturnType<typeof setTimeout> | undefined;

  const snapshot = (): SavedChat => {
    const chat: SavedChat = { turns };
    if (running !== undefined && !running.ended && running.streamId !== undefined) {
      chat.active = { streamId: running.streamId, lastEventId: running.lastEventId };
    }
    return chat;
  };
  const saveNow = (): void => {
    if (saveTimer !== undefined) clearTimeout(saveTimer);
    saveTimer = undefined;
    saveChat(snapshot());
  };
  const saveSoon = (): void => {
    saveTimer ??= setTimeout(saveNow, SAVE_EVERY_MS);
  };
  window.addEventListener('pagehide', () => {
    leaving = true;
    saveNow();
  });

  const setBusy = (busy: boolean): void => callbacks.onBusy(busy);

  /** Reads a stream into the running message until it ends, fails or is stopped. */
  const follow = async (run: Running, url: string, init: { method: string; body?: string }): Promise<void> => {
    setBusy(true);
    try {
      const events = fetchEventStream(url, {
        method: init.method,
        headers: authHeaders(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        body: init.body ?? null,
        lastEventId: run.lastEventId,
        signal: run.controller.signal,
        maxRetries: MAX_RETRIES,
        retryDelay: RETRY_DELAY_MS,
        onOpen(response) {
          setStatus(undefined);
          const id = response.headers.get(STREAM_ID_HEADER);
          if (id !== null && id !== '') run.streamId = id;
          saveNow();
        },
        onReconnect({ attempt }) {
          setStatus(`Connection lost: reconnecting… (attempt ${attempt} of ${MAX_RETRIES})`);
        },
      });
      for await (const sse of events) {
        if (sse.id !== '') run.lastEventId = sse.id;
        const event: PageEvent | undefined = parseEvent(sse.data);
        if (event === undefined) continue;
        recordEvent(run.turn.events ?? (run.turn.events = []), event);
        run.message.apply(event);
        if (event.type === 'text-delta') run.turn.content = run.message.text();
        if (TERMINAL.has(event.type)) run.ended = true;
        saveSoon();
      }
      if (!run.ended) run.message.note('The stream ended before the answer finished.', 'error');
    } catch (error) {
      if (leaving) return;
      if (run.controller.signal.aborted) {
        run.message.note(run.stopping ? describeAbort(undefined, true) : 'cancelled');
      } else if (isUnauthorized(error)) {
        askForKey();
        run.unauthorized = true;
        run.message.note('The server needs an API key: enter it above, then send again.', 'error');
      } else if (httpStatus(error) === 404 && init.method === 'GET') {
        run.message.note('This answer can no longer be resumed: the server does not have its stream any more.', 'error');
      } else if (error instanceof SseConnectionError) {
        setStatus(`Gave up: the server could not be reached after ${MAX_RETRIES} attempts. Reload the page to try again.`, 'error');
        run.message.note('The connection was lost and could not be resumed.', 'error');
      } else {
        run.message.note(`The request failed: ${describeError(error)}`, 'error');
      }
    } finally {
      if (!leaving) {
        run.ended = true;
        run.message.settle();
        running = undefined;
        saveNow();
        setBusy(false);
      }
    }
  };

  /** Answers an approval of the stream a message follows (`POST /v1/streams/:id/approvals/:approvalId`). */
  const approvalAnswerer =
    (streamId: () => string | undefined): AnswerApproval =>
    async (approvalId, approved) => {
      const id = streamId();
      if (id === undefined) return 0;
      const response = await apiFetch(`/v1/streams/${encodeURIComponent(id)}/approvals/${encodeURIComponent(approvalId)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ approved }),
      });
      await response.body?.cancel();
      return response.status;
    };

  const startRun = (turn: Turn): Running => {
    // The stream id comes with the response's head, after the message exists.
    const holder: { run?: Running } = {};
    const message = createAssistantMessage(
      () => scroll.follow(),
      approvalAnswerer(() => holder.run?.streamId),
    );
    log.append(message.element);
    holder.run = { message, turn, controller: new AbortController(), streamId: undefined, lastEventId: '', stopping: false, ended: false };
    return holder.run;
  };

  /** The failed last answer that offers "Regenerate", if any. */
  let regenerable: AssistantMessage | undefined;
  const withdrawRegenerate = (): void => {
    regenerable?.withdrawRegenerate();
    regenerable = undefined;
  };
  /**
   * Offers "Regenerate" on a failed last answer (an error such as `producer_lost`, a lost
   * connection): it forgets that answer and asks the same conversation again.
   */
  const offerRegenerate = (message: AssistantMessage, answerTurn: Turn, model: string | undefined): void => {
    withdrawRegenerate();
    regenerable = message;
    message.offerRegenerate(() => {
      if (running !== undefined || turns.at(-1) !== answerTurn) return;
      regenerable = undefined;
      turns.splice(turns.indexOf(answerTurn), 1);
      message.element.remove();
      saveNow();
      generate(model);
    });
  };

  /**
   * Answers the conversation as it is (its last turn is the user's question): a new assistant turn
   * streamed from `POST /v1/chat`.
   * @param onUnauthorized - instead of offering "Regenerate" when the server wants a key first
   */
  const generate = (model: string | undefined, onUnauthorized?: (run: Running, answerTurn: Turn) => void): void => {
    const messages = turns.map(({ role, content }) => ({ role, content })).filter(({ content }) => content !== '');
    const answerTurn: Turn = { role: 'assistant', content: '', events: [] };
    turns.push(answerTurn);
    const run = startRun(answerTurn);
    running = run;
    scroll.reset();
    const body = JSON.stringify(model === undefined || model === '' ? { messages } : { messages, model });
    void follow(run, '/v1/chat', { method: 'POST', body }).then(() => {
      if (run.unauthorized === true && onUnauthorized !== undefined) onUnauthorized(run, answerTurn);
      else if (run.message.failed() && turns.at(-1) === answerTurn) offerRegenerate(run.message, answerTurn, model);
    });
  };

  // Show the saved conversation; the last turn may be an answer still streaming on the server.
  /** Shows a saved conversation; its last turn may be an answer still streaming on the server, which is followed. */
  const show = (chat: SavedChat): void => {
    const active = chat.active;
    for (const [index, turn] of turns.entries()) {
      if (turn.role === 'user') {
        log.append(createUserMessage(turn.content));
        continue;
      }
      const isActive = active !== undefined && index === turns.length - 1;
      const message = createAssistantMessage(
        () => {},
        isActive ? approvalAnswerer(() => active.streamId) : undefined,
      );
      for (const event of turn.events ?? []) message.apply(event);
      if (!isActive) message.settle();
      log.append(message.element);
      // The last answer failed before the reload: it can still be asked again.
      if (!isActive && index === turns.length - 1 && message.failed()) offerRegenerate(message, turn, undefined);
      if (isActive) {
        const run: Running = { message, turn, controller: new AbortController(), streamId: active.streamId, lastEventId: active.lastEventId, stopping: false, ended: false };
        running = run;
        void follow(run, `/v1/streams/${encodeURIComponent(active.streamId)}`, { method: 'GET' });
      }
    }
  };
  show(saved);
  // Another tab of this conversation started an answer: follow it here too, so every open tab
  // shows it (and its approval cards, answered in any of them).
  window.addEventListener('storage', (event) => {
    if (event.key !== CHAT_STORAGE_KEY || running !== undefined || leaving) return;
    const next = loadChat();
    if (next.active === undefined) return;
    turns.splice(0, turns.length, ...next.turns);
    log.replaceChildren();
    show(next);
    scroll.reset();
  });
  scroll.reset();

  return {
    busy: () => running !== undefined,
    send(question, model) {
      if (running !== undefined) return;
      withdrawRegenerate();
      const userTurn: Turn = { role: 'user', content: question };
      turns.push(userTurn);
      const userElement = createUserMessage(question);
      log.append(userElement);
      generate(model, (run, answerTurn) => {
        // No key yet: nothing was generated, so the question goes back to the input for later.
        turns.splice(turns.indexOf(userTurn), 1);
        turns.splice(turns.indexOf(answerTurn), 1);
        saveNow();
        userElement.remove();
        run.message.element.remove();
        callbacks.onReturnQuestion(question);
      });
    },
    stop() {
      const run = running;
      if (run === undefined || run.stopping) return;
      run.stopping = true;
      run.message.stopRequested();
      if (run.streamId === undefined) {
        run.controller.abort();
        return;
      }
      // Ask the server to stop the model; the stream then ends with its `abort` event.
      const fallback = setTimeout(() => run.controller.abort(), STOP_GRACE_MS);
      apiFetch(`/v1/streams/${encodeURIComponent(run.streamId)}`, { method: 'DELETE' })
        .then((response) => {
          if (!response.ok) {
            // This server cannot stop streams by id: closing the request stops the generation.
            clearTimeout(fallback);
            run.controller.abort();
          }
        })
        .catch(() => {
          clearTimeout(fallback);
          run.controller.abort();
        });
    },
    clear() {
      if (running !== undefined) return;
      withdrawRegenerate();
      turns.length = 0;
      log.replaceChildren();
      clearChat();
    },
  };
}
