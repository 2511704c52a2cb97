/**
 * One stream's client in the fault suite: starts a chat through nginx (`POST /v1/chat`, native
 * SSE, or `POST /api/chat`, the AI SDK UI stream), drops its connection at planned points, and
 * resumes with `Last-Event-ID` at `GET /v1/streams/:id` (nginx sends each resume to any instance),
 * until it has the stream's terminal event. It records everything it received, per connection, for
 * the checker. It retries what a well-behaved client retries: 502/503/504 (with `Retry-After`) and
 * broken connections; it gives up only at its deadline.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';

/** What a stream's client does. */
export interface StreamPlan {
  readonly n: number;
  /** Milliseconds after the run's start. */
  readonly startAt: number;
  readonly endpoint: 'native' | 'ai-sdk';
  /** The model for the request (`openai:chaos-…` or `local`). */
  readonly model: string;
  /** Per connection, the number of events after which the client drops it (then resumes). */
  readonly drops: readonly number[];
  /** The client stops reading after `afterEvents` events for `ms` (a frozen tab), once. */
  readonly stall?: { afterEvents: number; ms: number };
  /** Milliseconds the client waits before each resume. */
  readonly resumeDelayMs: number;
  /**
   * The address this client claims in `X-Forwarded-For` (nginx appends its peer's): the instances
   * trust nginx (SLUICE_TRUST_PROXY), so their per-client limits see many clients, as in production.
   */
  readonly clientAddress: string;
}

/** An event as received: `id` undefined when the frame carried no `id:` field (this response only). */
export interface ReceivedEvent {
  readonly id: number | undefined;
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** Milliseconds since the run's start. */
  readonly at: number;
}

/** One HTTP exchange of a stream. */
export interface Connection {
  readonly kind: 'post' | 'resume';
  readonly at: number;
  /** The `Last-Event-ID` sent (resumes). */
  readonly lastEventId?: number;
  status?: number;
  /** The error code of a JSON error answer. */
  code?: string;
  /** How it ended (`silent`: no byte, not even a heartbeat, for {@link SILENCE_MS}). */
  end?: 'terminal' | 'dropped' | 'closed' | 'broken' | 'refused' | 'silent';
  error?: string;
  readonly events: ReceivedEvent[];
  /** AI SDK UI stream: the text deltas received. */
  uiText?: string;
  /** AI SDK UI stream: whether a `finish` chunk arrived. */
  uiFinished?: boolean;
}

/** What happened to one stream, for the checker. */
export interface StreamRecord {
  readonly plan: StreamPlan;
  streamId?: string;
  readonly startedAt: number;
  endedAt?: number;
  /**
   * `terminal`: got the terminal event; `http_error`: the POST was answered with an error status
   * and a JSON error code (the run failed before its first byte: DESIGN's "a real HTTP error
   * status"); `not_found` / `ahead_of_log`: a resume got 404 / 409 and the client stopped;
   * `refused`: a status no retry helps and no JSON code; `gave_up`: the deadline passed.
   */
  outcome?: 'terminal' | 'http_error' | 'not_found' | 'ahead_of_log' | 'refused' | 'gave_up';
  readonly connections: Connection[];
}

/**
 * The longest an open stream may send nothing at all: the heartbeat (`: ping` every 15 s) plus
 * slack. Longer is a hung connection; the client records it and drops it.
 */
export const SILENCE_MS = 20_000;

/** Statuses a client retries (after `Retry-After`, else a short pause). */
const RETRY_STATUSES = new Set([502, 503, 504]);
const TERMINAL = new Set(['finish', 'error', 'abort']);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** SSE blocks out of a byte stream, with whether each block carried an `id:` field. */
class BlockParser {
  #buffer = '';
  readonly #decoder = new TextDecoder();
  feed(chunk: Uint8Array, onBlock: (block: { event: string; data: string; id: string | undefined }) => void): void {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end === -1) return;
      const raw = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of raw.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
      if (data.length > 0) onBlock({ event, data: data.join('\n'), id });
    }
  }
}

/** Options of {@link runStreamClient}. */
export interface StreamClientOptions {
  /** nginx's URL. */
  readonly baseUrl: string;
  /** The run's start (Date.now()), for `at` times. */
  readonly t0: number;
  /** The client gives up this many ms after its start. */
  readonly deadlineMs: number;
  /** Set when the run stops: ends the client at once. */
  readonly signal: AbortSignal;
}

/**
 * Runs one stream's client to its end.
 * @param plan - what it does
 * @param options - where and how long
 * @returns what it received
 */
export async function runStreamClient(plan: StreamPlan, options: StreamClientOptions): Promise<StreamRecord> {
  const { baseUrl, t0 } = options;
  const now = (): number => Date.now() - t0;
  const record: StreamRecord = { plan, startedAt: now(), connections: [] };
  const deadline = Date.now() + options.deadlineMs;
  let lastId = 0;
  let dropIndex = 0;
  let stalled = false;

  const question = `Say forty words (chaos stream ${plan.n}).`;
  const body =
    plan.endpoint === 'native'
      ? { messages: [{ role: 'user', content: question }], model: plan.model }
      : { id: `chat-${plan.n}-${randomUUID()}`, messages: [{ id: `m-${plan.n}`, role: 'user', parts: [{ type: 'text', text: question }] }], model: plan.model };

  /** Waits before a retry: the answer's Retry-After, else 300 ms. */
  const pause = async (response?: Response): Promise<void> => {
    const seconds = Number(response?.headers.get('retry-after'));
    await sleep(Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, 5000) : 300);
  };

  /** Reads an answer's body until its end, a planned drop or the terminal event. */
  const read = async (connection: Connection, response: Response, ui: boolean): Promise<void> => {
    const dropAfter = plan.drops[dropIndex++];
    const parser = new BlockParser();
    const reader = response.body!.getReader();
    let count = 0;
    let done = false;
    // After the client's stall, what the socket buffered meanwhile is read at once: those events
    // arrived when the stall began, not when they are parsed (the checker compares times with faults).
    let arrivedAt: number | undefined;
    let stalledAt: number | undefined;
    let uiText = '';
    const onBlock = (block: { event: string; data: string; id: string | undefined }): void => {
      if (done) return;
      if (ui) {
        if (block.data === '[DONE]') return;
        const chunk = JSON.parse(block.data) as { type?: string; delta?: string };
        if (chunk.type === 'text-delta' && typeof chunk.delta === 'string') uiText += chunk.delta;
        if (chunk.type === 'finish') connection.uiFinished = true;
        count++;
      } else {
        const data = JSON.parse(block.data) as Record<string, unknown>;
        const id = block.id === undefined || block.id === '' ? undefined : Number(block.id);
        connection.events.push({ id, type: block.event, data, at: arrivedAt ?? now() });
        if (id !== undefined) lastId = id;
        count++;
        if (TERMINAL.has(block.event) && id !== undefined) {
          connection.end = 'terminal';
          done = true;
          return;
        }
      }
      if (dropAfter !== undefined && count >= dropAfter) {
        connection.end = 'dropped';
        done = true;
      }
    };
    try {
      while (!done) {
        if (plan.stall !== undefined && !stalled && count >= plan.stall.afterEvents) {
          stalled = true;
          stalledAt = now();
          await sleep(plan.stall.ms);
        }
        const asked = Date.now();
        let silence: ReturnType<typeof setTimeout> | undefined;
        const next = await Promise.race([
          reader.read(),
          new Promise<'silent'>((resolve) => {
            silence = setTimeout(resolve, SILENCE_MS, 'silent');
          }),
        ]).finally(() => clearTimeout(silence));
        if (next === 'silent') {
          connection.end = 'silent';
          break;
        }
        const { value, done: ended } = next;
        // A read answered at once right after the stall came from the buffer.
        if (stalledAt !== undefined && Date.now() - asked < 5) arrivedAt = stalledAt;
        else {
          stalledAt = undefined;
          arrivedAt = undefined;
        }
        if (ended) {
          connection.end ??= 'closed';
          break;
        }
        parser.feed(value, onBlock);
      }
    } catch (error) {
      connection.end = 'broken';
      connection.error = error instanceof Error ? error.message : String(error);
    } finally {
      if (ui) connection.uiText = uiText;
      await reader.cancel().catch(() => undefined);
    }
  };

  const request = async (connection: Connection, url: string, init: RequestInit): Promise<Response | undefined> => {
    record.connections.push(connection);
    try {
      const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': plan.clientAddress }, signal: options.signal });
      connection.status = response.status;
      if (response.status !== 200) {
        const text = await response.text().catch(() => '');
        try {
          const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          if (code !== undefined) connection.code = code;
        } catch {
          // nginx's own error pages are HTML: no code.
        }
        connection.end = 'refused';
        return response;
      }
      return response;
    } catch (error) {
      connection.end = 'broken';
      connection.error = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  };

  // The first request: retried until it is answered 200 (a POST refused before any run started).
  for (;;) {
    if (Date.now() > deadline || options.signal.aborted) {
      record.outcome = 'gave_up';
      record.endedAt = now();
      return record;
    }
    const connection: Connection = { kind: 'post', at: now(), events: [] };
    const response = await request(connection, `${baseUrl}${plan.endpoint === 'native' ? '/v1/chat' : '/api/chat'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
    });
    if (response === undefined || RETRY_STATUSES.has(response.status) || (response.status === 429 && connection.code === 'rate_limited')) {
      // A refusal before any run started (503 draining or store unavailable, 429 a limit of
      // sluice's own): what a client does is wait for Retry-After and send it again.
      await pause(response);
      continue;
    }
    if (response.status !== 200) {
      // The request is valid: only an error of the run itself (429 or 5xx with its code) is a clear
      // answer, or a 404 when the stream was lost before its first byte (Redis emptied).
      record.outcome =
        connection.code !== undefined && (response.status === 429 || response.status >= 500)
          ? 'http_error'
          : response.status === 404 && connection.code === 'not_found'
            ? 'not_found'
            : 'refused';
      record.endedAt = now();
      return record;
    }
    const streamId = response.headers.get('x-stream-id');
    if (streamId !== null) record.streamId = streamId;
    await read(connection, response, plan.endpoint === 'ai-sdk');
    break;
  }
  if (record.streamId === undefined) {
    record.outcome = 'refused';
    record.endedAt = now();
    return record;
  }
  // Resumes: native SSE from the last id received (an AI SDK stream's first resume starts at 0).
  for (;;) {
    const last = record.connections.at(-1);
    if (last?.end === 'terminal') {
      record.outcome = 'terminal';
      break;
    }
    if (Date.now() > deadline || options.signal.aborted) {
      record.outcome = 'gave_up';
      break;
    }
    await sleep(plan.resumeDelayMs);
    const connection: Connection = { kind: 'resume', at: now(), lastEventId: lastId, events: [] };
    const response = await request(connection, `${baseUrl}/v1/streams/${record.streamId}`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(lastId) },
    });
    if (response === undefined || RETRY_STATUSES.has(response.status) || (response.status === 429 && connection.code === 'rate_limited')) {
      await pause(response);
      continue;
    }
    if (response.status === 404) {
      record.outcome = 'not_found';
      break;
    }
    if (response.status === 409) {
      record.outcome = 'ahead_of_log';
      break;
    }
    if (response.status !== 200) {
      record.outcome = 'refused';
      break;
    }
    await read(connection, response, false);
  }
  record.endedAt = now();
  return record;
}
