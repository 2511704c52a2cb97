/**
 * The agent's trace is complete enough for a real client: a run of the local model with the
 * built-in tools, encoded as the AI SDK UI message stream, read back with `ai`'s
 * `readUIMessageStream` into a message with the tool call, its output, the sources and the answer.
 */
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { describe, expect, it } from 'vitest';
import { createBuiltinTools, runAgent } from '../src/agent/index.ts';
import { streamingResponse } from '../src/core/index.ts';
import { aiSdkUiStream } from '../src/protocol/index.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';

const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: Infinity });

async function uiMessage(question: string): Promise<UIMessage> {
  const events = runAgent({ provider: local, model: 'local', messages: [{ role: 'user', content: question }], tools: createBuiltinTools({ paceMs: 0 }) });
  const response = await streamingResponse(events, { format: aiSdkUiStream() });
  const chunks = response
    .body!.pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .pipeThrough(
      new TransformStream<{ data: string }, UIMessageChunk>({
        transform(event, controller) {
          if (event.data !== '[DONE]') controller.enqueue(JSON.parse(event.data) as UIMessageChunk);
        },
      }),
    );
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream: chunks, terminateOnError: true })) last = message;
  return last!;
}

describe('the agent trace through the AI SDK UI message stream', () => {
  it('rebuilds the calculator call, its output and the answer', async () => {
    const message = await uiMessage('What is 17*23?');
    const tool = message.parts.find((part) => part.type === 'tool-calculator');
    expect(tool).toMatchObject({ state: 'output-available', input: { expression: '17*23' }, output: { value: '391' } });
    expect(message.parts.filter((part) => part.type === 'step-start')).toHaveLength(2);
    const text = message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
    expect(text).toContain('17*23 = 391');
  });

  it('rebuilds the search hits as sources and the analysis progress as a data part', async () => {
    const search = await uiMessage('Search the docs for backpressure');
    expect(search.parts.some((part) => part.type === 'source-document' && part.sourceId === 'en/backpressure')).toBe(true);
    const analysis = await uiMessage('Analyze the sales data');
    const progress = analysis.parts.filter((part) => part.type === 'data-progress');
    // One progress part per tool call, reconciled by id: the latest value, at its total.
    expect(progress).toHaveLength(1);
    const value = (progress[0] as { data: { done: number; total: number } }).data;
    expect(value.done).toBe(value.total);
    expect(analysis.parts.find((part) => part.type === 'tool-analyze_data')).toMatchObject({ state: 'output-available' });
  });
});
