/**
 * Agent events as one OpenAI `chat.completion` object, the non-streaming answer of `POST /v1/chat/completions`.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import { PROTOCOL_ERROR_CODES } from './errors.ts';
import { createMessageAccumulator } from './message-accumulator.ts';
import { toOpenAiFinishReason, toOpenAiUsage, type OpenAiFinishReason } from './openai-chunks.ts';
import type { AgentEvent } from './types.ts';

/** Options of {@link toChatCompletion}. */
export interface ChatCompletionOptions {
  /** The completion ID (`chatcmpl-…`). */
  id: string;
  /** The model name the client asked for. */
  model: string;
  /** Unix time in seconds when the completion was created. */
  created: number;
  /**
   * The request's signal (a client disconnect). Once it aborts, the events stop being read (the
   * source's `return()` runs) and the promise rejects with `signal.reason`, unchanged, whatever the
   * source did after (ended quietly, sent `abort`, threw): a disconnect is never a 5xx.
   */
  signal?: AbortSignal;
}

/** An OpenAI `chat.completion` object, as far as sluice fills it. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: string | null;
      tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
    };
    logprobs: null;
    finish_reason: OpenAiFinishReason;
  }[];
  usage?: ReturnType<typeof toOpenAiUsage>;
}

/**
 * Reads every event, stopping when `signal` aborts: rejects with `signal.reason` then, and
 * releases the source (`return()`) even while it waits for its next event.
 */
async function readAll(
  events: Iterable<AgentEvent> | AsyncIterable<AgentEvent>,
  push: (event: AgentEvent) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) {
    for await (const event of events) push(event);
    return;
  }
  signal.throwIfAborted();
  const iterator = Symbol.asyncIterator in events ? events[Symbol.asyncIterator]() : events[Symbol.iterator]();
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
  });
  // The race below may lose to the abort; its rejection is then handled here, not reported.
  aborted.catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  let done = false;
  try {
    for (;;) {
      const result = await Promise.race([iterator.next(), aborted]);
      if (result.done === true) {
        done = true;
        break;
      }
      push(result.value);
    }
  } catch (error) {
    // A source that fails because the request was aborted: the abort is what happened.
    if (signal.aborted) throw signal.reason;
    done = true;
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Release the source when it did not finish on its own (abort, or a consumer-side failure).
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
  signal.throwIfAborted();
}

/**
 * Collects agent events into one OpenAI `chat.completion`: the text as `content`, refusal text as
 * `refusal`, tool calls with their argument text, `finish_reason` and `usage`.
 * @param events - the events of one generation
 * @param options - the completion's ID, model and creation time, and the request's signal
 * @returns the completion, once the events end
 * @throws SluiceError with the event's code when the stream ends with `error` (the event's upstream
 * HTTP status, else 502) or `abort` (code `aborted`, 503), or `incomplete_stream` (502) when it
 * ends without any of `finish`, `error` or `abort`; `signal.reason` (an `AbortError`) when `signal` aborts
 * @example
 * ```ts
 * res.json(await toChatCompletion(events, { id, model: body.model, created, signal }))
 * ```
 */
export async function toChatCompletion(
  events: Iterable<AgentEvent> | AsyncIterable<AgentEvent>,
  options: ChatCompletionOptions,
): Promise<ChatCompletion> {
  const accumulator = createMessageAccumulator();
  await readAll(events, (event) => accumulator.push(event), options.signal);
  const message = accumulator.message;
  if (message.error !== undefined) {
    // The upstream status when it was an HTTP error (429 stays 429), else a bad gateway.
    const upstream = message.error.status;
    const status = upstream !== undefined && upstream >= 400 && upstream <= 599 ? upstream : 502;
    throw new SluiceError(message.error.code, message.error.message, { status });
  }
  if (message.abortReason !== undefined) {
    throw new SluiceError('aborted', `The generation was stopped: ${message.abortReason}.`, { status: PROTOCOL_ERROR_CODES.aborted });
  }
  if (!message.ended) {
    // Answering 200 here would turn a generation cut short into a complete-looking answer.
    throw new SluiceError(
      'incomplete_stream',
      'The generation ended without a finish, error or abort event, so the answer may be cut short; no completion was sent.',
      { status: PROTOCOL_ERROR_CODES.incomplete_stream },
    );
  }
  const toolCalls = message.toolCalls.map((call) => ({
    id: call.toolCallId,
    type: 'function' as const,
    function: {
      name: call.toolName,
      arguments: call.inputText !== '' ? call.inputText : (JSON.stringify(call.input ?? {}) as string),
    },
  }));
  const finishReason =
    message.finishReason === undefined ? (toolCalls.length > 0 ? 'tool_calls' : 'stop') : toOpenAiFinishReason(message.finishReason, message.rawFinishReason);
  const completion: ChatCompletion = {
    id: options.id,
    object: 'chat.completion',
    created: options.created,
    model: options.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: message.text === '' && toolCalls.length > 0 ? null : message.text,
          refusal: message.refusal === '' ? null : message.refusal,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
  };
  if (message.usage !== undefined) completion.usage = toOpenAiUsage(message.usage);
  return completion;
}
