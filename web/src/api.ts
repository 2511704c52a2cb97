/**
 * Talking to the sluice server from the page: the API key (asked for when the server answers
 * 401, kept in `localStorage`, sent as `Authorization: Bearer`), and the status line that says
 * what is going on (reconnecting, gave up, a route this server does not have).
 */
import { SseHttpError } from '../../src/sse/errors.ts';

const KEY_STORAGE = 'sluice.apiKey';

/** The stored API key, if any. */
export function apiKey(): string | undefined {
  return localStorage.getItem(KEY_STORAGE) ?? undefined;
}

/** Request headers with the API key, when one is stored. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return key === undefined ? extra : { ...extra, authorization: `Bearer ${key}` };
}

/** `fetch` with the API key; a 401 asks for a key. */
export async function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(authHeaders())) headers.set(name, value);
  const response = await fetch(url, { ...init, headers });
  if (response.status === 401) askForKey();
  return response;
}

/** Whether an error is the server's 401 (no key, or a wrong one). */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof SseHttpError && error.status === 401;
}

/** The HTTP status of a failed event-stream request, if that is what the error is. */
export function httpStatus(error: unknown): number | undefined {
  return error instanceof SseHttpError ? error.status : undefined;
}

const keyListeners = new Set<() => void>();

/** Calls `listener` each time the user enters a new key. */
export function onKey(listener: () => void): void {
  keyListeners.add(listener);
}

/** Shows the key form (the server answered 401). */
export function askForKey(): void {
  const form = document.querySelector<HTMLFormElement>('#key-form');
  if (form === null || !form.hidden) return;
  form.hidden = false;
  setStatus(apiKey() === undefined ? 'This server needs an API key.' : 'The server refused the API key: enter another one.', 'error');
  form.querySelector('input')?.focus();
}

/** Wires the key form: a submitted key is stored and the listeners retry. */
export function setUpKeyForm(): void {
  const form = document.querySelector<HTMLFormElement>('#key-form');
  const input = document.querySelector<HTMLInputElement>('#key-input');
  if (form === null || input === null) return;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') return;
    localStorage.setItem(KEY_STORAGE, key);
    input.value = '';
    form.hidden = true;
    setStatus(undefined);
    for (const listener of keyListeners) listener();
  });
}

/** Shows a status message (or hides it with `undefined`). */
export function setStatus(message: string | undefined, kind: 'info' | 'error' = 'info'): void {
  const status = document.querySelector<HTMLElement>('#status');
  if (status === null) return;
  status.hidden = message === undefined;
  status.textContent = message ?? '';
  status.classList.toggle('error', kind === 'error');
}

/** A short description of an error for the page. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
