/**
 * How a provider continues a step another producer left unfinished (a takeover, see
 * `ChatRequest.continuation`): the conversation it sends instead of `request.messages`.
 *
 * @module
 */
import type { ChatMessage, ChatRequest } from '../types.ts';

/** What the OpenAI-family providers ask after giving the unfinished answer back. */
export const CONTINUE_PROMPT =
  'Your previous answer was cut off mid-way by a server restart. Continue it exactly where it stopped: do not repeat anything already written and do not comment on the interruption.';

/**
 * Anthropic: the unfinished text as the last (assistant) message, which the Messages API continues
 * as a prefill. The API refuses a final assistant message that ends with white space, so that is
 * trimmed (the model writes it again if it belongs there). Without text there is nothing to prefill.
 * With extended thinking on (`providerOptions.anthropic.thinking`), Anthropic does not accept a
 * prefilled response: the text is given back and the model asked to continue, as with OpenAI.
 * @param request - the step's request
 * @returns the messages to send
 */
export function messagesWithPrefill(request: ChatRequest): ChatMessage[] {
  const thinking = (request.providerOptions?.['anthropic']?.['thinking'] as { type?: unknown } | undefined)?.type;
  if (thinking !== undefined && thinking !== 'disabled') return messagesAskingToContinue(request);
  const text = request.continuation?.text.trimEnd() ?? '';
  if (text === '') return request.messages;
  return [...request.messages, { role: 'assistant', content: [{ type: 'text', text }] }];
}

/**
 * OpenAI and OpenAI-compatible: the unfinished text given back as an assistant message, then a user
 * message asking to continue it. Chat Completions has no prefill, so the model writes a new message
 * that (when it follows the instruction) picks up where the text stopped.
 * @param request - the step's request
 * @returns the messages to send
 */
export function messagesAskingToContinue(request: ChatRequest): ChatMessage[] {
  const text = request.continuation?.text ?? '';
  if (text === '') return request.messages;
  return [...request.messages, { role: 'assistant', content: text }, { role: 'user', content: CONTINUE_PROMPT }];
}
