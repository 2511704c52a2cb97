/**
 * How each provider continues a step a lost producer left unfinished (`ChatRequest.continuation`):
 * the local model from the exact offset of its planned output; Anthropic by prefill (trailing white
 * space trimmed; asked to continue instead with extended thinking on); OpenAI Chat, Responses and
 * OpenAI-compatible by giving the text back and asking to continue.
 */
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { toAnthropicRequest } from '../src/providers/anthropic/create-anthropic-provider.ts';
import { createLocalProvider } from '../src/providers/local/local-language-model.ts';
import { toOpenAIChatRequest } from '../src/providers/openai/openai-chat-request.ts';
import { toOpenAIResponsesRequest } from '../src/providers/openai/openai-responses-request.ts';
import { CONTINUE_PROMPT } from '../src/providers/shared/continuation.ts';
import type { ChatRequest } from '../src/providers/types.ts';

const base: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'Write a short poem' }] };
const continued: ChatRequest = { ...base, continuation: { text: 'Roses are red,\n' } };

async function collect(events: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const all: AgentEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}
const deltas = (events: readonly AgentEvent[], type: 'text-delta' | 'reasoning-delta'): string =>
  events.map((event) => (event.type === type ? event.delta : '')).join('');

describe('continuing an unfinished step', () => {
  it('Anthropic: the partial text is the last (assistant) message, trailing white space trimmed', () => {
    expect(toAnthropicRequest(continued, 1024).messages).toEqual([
      { role: 'user', content: 'Write a short poem' },
      { role: 'assistant', content: [{ type: 'text', text: 'Roses are red,' }] },
    ]);
    expect(toAnthropicRequest(base, 1024).messages).toEqual([{ role: 'user', content: 'Write a short poem' }]);
  });

  it('Anthropic with extended thinking: no prefill (the API refuses one); the text is given back and the model asked to continue', () => {
    const thinking = { ...continued, providerOptions: { anthropic: { thinking: { type: 'enabled', budget_tokens: 2048 } } } };
    const messages = toAnthropicRequest(thinking, 1024).messages;
    expect(messages.at(-1)).toEqual({ role: 'user', content: CONTINUE_PROMPT });
    expect(JSON.stringify(messages.at(-2))).toContain('Roses are red,\\n');
  });

  it('OpenAI Chat (and OpenAI-compatible): the partial text as the assistant message, then a user message asking to continue', () => {
    expect(toOpenAIChatRequest(continued, 'openai', 'max_completion_tokens').messages).toEqual([
      { role: 'user', content: 'Write a short poem' },
      { role: 'assistant', content: 'Roses are red,\n' },
      { role: 'user', content: CONTINUE_PROMPT },
    ]);
  });

  it('OpenAI Responses: the same, as input items', () => {
    expect(toOpenAIResponsesRequest(continued, 'openai').input).toEqual([
      { role: 'user', content: 'Write a short poem' },
      { role: 'assistant', content: 'Roses are red,\n' },
      { role: 'user', content: CONTINUE_PROMPT },
    ]);
  });

  it('local: continues at the exact offset of its planned text and reasoning, with new part ids; a continuation that is not its own is ignored', async () => {
    const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
    const request: ChatRequest = { model: 'local', messages: [{ role: 'user', content: 'What is backpressure?' }] };
    const whole = await collect(local(request));
    const text = deltas(whole, 'text-delta');
    const reasoning = deltas(whole, 'reasoning-delta');
    const textPieces = whole.flatMap((event) => (event.type === 'text-delta' ? [event.delta] : []));
    for (const cut of [0, 1, Math.floor(textPieces.length / 2), textPieces.length - 1]) {
      const written = textPieces.slice(0, cut).join('');
      const rest = await collect(local({ ...request, continuation: { text: written, reasoning } }));
      expect(written + deltas(rest, 'text-delta')).toBe(text);
      expect(deltas(rest, 'reasoning-delta')).toBe('');
      const ids = new Set(whole.flatMap((event) => (event.type === 'text-start' ? [event.id] : [])));
      for (const event of rest) if (event.type === 'text-start') expect(ids.has(event.id)).toBe(false);
      expect(rest.at(-1)?.type).toBe('finish');
    }
    // Mid-reasoning: the rest of the reasoning, then the whole text.
    const reasoningPieces = whole.flatMap((event) => (event.type === 'reasoning-delta' ? [event.delta] : []));
    const half = reasoningPieces.slice(0, Math.floor(reasoningPieces.length / 2)).join('');
    const fromReasoning = await collect(local({ ...request, continuation: { text: '', reasoning: half } }));
    expect(half + deltas(fromReasoning, 'reasoning-delta')).toBe(reasoning);
    expect(deltas(fromReasoning, 'text-delta')).toBe(text);
    const foreign = await collect(local({ ...request, continuation: { text: 'Something else entirely' } }));
    expect(deltas(foreign, 'text-delta')).toBe(text);
  });
});
