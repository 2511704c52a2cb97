import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../protocol/types.ts';
import type { ChatMessage, ChatRequest, ToolDefinition } from '../types.ts';
import { DEMO_NOTICE, composeReply } from './compose-reply.ts';
import { createLocalProvider } from './local-language-model.ts';

const fast = createLocalProvider({ ttftMs: 0, tokensPerSecond: Infinity });

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'local', messages: [{ role: 'user', content }], ...extra };
}

async function collect(request: ChatRequest, provider = fast): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  for await (const event of provider(request)) events.push(event);
  return events;
}

function textOf(events: AgentEvent[], type: 'text-delta' | 'reasoning-delta' = 'text-delta'): string {
  return events.map((event) => (event.type === type ? event.delta : '')).join('');
}

/** Fails unless the stream is well formed: one message-start first, balanced parts, usage then finish last. */
function expectWellFormed(events: AgentEvent[]): void {
  expect(events[0]?.type).toBe('message-start');
  expect(events.at(-1)?.type).toBe('finish');
  expect(events.at(-2)?.type).toBe('usage');
  const open = new Map<string, string>();
  for (const event of events.slice(1, -2)) {
    switch (event.type) {
      case 'text-start':
      case 'reasoning-start':
        expect(open.size, `${event.type} while another part is open`).toBe(0);
        open.set(event.id, event.type.replace('-start', ''));
        break;
      case 'text-delta':
      case 'reasoning-delta':
        expect(open.get(event.id)).toBe(event.type.replace('-delta', ''));
        expect(event.delta).not.toBe('');
        break;
      case 'text-end':
      case 'reasoning-end':
        expect(open.get(event.id)).toBe(event.type.replace('-end', ''));
        open.delete(event.id);
        break;
      case 'tool-call-start':
        expect(open.size).toBe(0);
        open.set(event.toolCallId, 'tool');
        break;
      case 'tool-call-delta':
        expect(open.get(event.toolCallId)).toBe('tool');
        break;
      case 'tool-call':
        expect(open.get(event.toolCallId)).toBe('tool');
        open.delete(event.toolCallId);
        break;
      default:
        throw new Error(`Unexpected event in the body of the stream: ${event.type}`);
    }
  }
  expect(open.size, 'every part that starts also ends').toBe(0);
}

const searchDocs: ToolDefinition = {
  name: 'search_docs',
  description: 'Search the sluice documentation and return matching passages.',
  inputSchema: {
    type: 'object',
    properties: { query: { type: 'string' }, limit: { type: 'integer', default: 5 } },
    required: ['query'],
  },
};

describe('createLocalProvider', () => {
  it('gives identical events for the same request', async () => {
    const request = ask('What is backpressure?');
    expect(await collect(request)).toEqual(await collect(request));
    const toolRequest = ask('Search the docs for backpressure', { tools: [searchDocs] });
    expect(await collect(toolRequest)).toEqual(await collect(toolRequest));
  });

  it('gives different message ids for different requests', async () => {
    const [a] = await collect(ask('What is backpressure?'));
    const [b] = await collect(ask('What is SSE?'));
    expect(a).toMatchObject({ type: 'message-start', model: 'local' });
    expect(a).not.toEqual(b);
  });

  it('streams message-start, reasoning, text, usage and finish in order with balanced parts', async () => {
    const events = await collect(ask('What is backpressure?'));
    expectWellFormed(events);
    const kinds = [...new Set(events.map((event) => event.type))];
    expect(kinds).toEqual([
      'message-start',
      'reasoning-start',
      'reasoning-delta',
      'reasoning-end',
      'text-start',
      'text-delta',
      'text-end',
      'usage',
      'finish',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('streams text deltas that concatenate to the whole answer, in many small pieces', async () => {
    const request = ask('What is backpressure?');
    const events = await collect(request);
    const deltas = events.filter((event) => event.type === 'text-delta');
    expect(textOf(events)).toBe(composeReply(request).text);
    expect(deltas.length).toBeGreaterThan(100);
    for (const delta of deltas) expect(Array.from(delta.delta).length).toBeLessThanOrEqual(8);
  });

  it('reasons with a plan that names the question and the entry it will use', async () => {
    const reasoning = textOf(await collect(ask('What is backpressure?')), 'reasoning-delta');
    expect(reasoning).toContain('The user asks “What is backpressure?”');
    expect(reasoning).toContain('“Backpressure” matches best');
  });

  it('answers a question about backpressure from the backpressure entry and cites it', async () => {
    const text = textOf(await collect(ask('What is backpressure?')));
    expect(text).toContain('**Backpressure**\nBackpressure means the consumer sets the pace');
    expect(text).toMatch(/Sources: `backpressure` \(Backpressure\)/);
  });

  it('answers a Chinese question in Chinese from the relevant entry', async () => {
    const events = await collect(ask('什么是流式响应？'));
    const text = textOf(events);
    expect(text.startsWith(DEMO_NOTICE.zh)).toBe(true);
    expect(text).toContain('**什么是流式响应**\n流式响应是在数据生成的同时分块发送响应体');
    expect(text).toContain('参考：`streaming-basics`（什么是流式响应）');
    expect(textOf(events, 'reasoning-delta')).toContain('用户问：“什么是流式响应？”');
    expect(textOf(await collect(ask('背压是什么？')))).toContain('`backpressure`');
  });

  it('says it is the built-in demo model and how to switch, once per conversation', async () => {
    const first = textOf(await collect(ask('What is backpressure?')));
    expect(first.startsWith(DEMO_NOTICE.en)).toBe(true);
    expect(first).toContain('not an LLM');
    expect(first).toContain('`SLUICE_MODEL=openai:gpt-4o-mini`');
    expect(first).toContain('`OPENAI_API_KEY`');
    const messages: ChatMessage[] = [
      { role: 'user', content: 'What is backpressure?' },
      { role: 'assistant', content: first },
      { role: 'user', content: 'And what is SSE?' },
    ];
    const second = textOf(await collect({ model: 'local', messages }));
    expect(second).not.toContain(DEMO_NOTICE.en);
    expect(second).toContain('`sse-format`');
  });

  it('greets with the topics it can explain, and admits when it has no entry', async () => {
    const hello = textOf(await collect(ask('hello')));
    expect(hello.startsWith(`Hello! ${DEMO_NOTICE.en}`)).toBe(true);
    expect(hello).toContain('- Backpressure\n');
    const unknown = textOf(await collect(ask("What's the weather in Paris?")));
    expect(unknown).toContain('The docs have nothing on “What\'s the weather in Paris?”');
    expect(unknown).toContain('- Reconnection and resume (Last-Event-ID)\n');
  });

  it('calls an offered tool the question asks for, streaming its input JSON in fragments', async () => {
    const events = await collect(ask('Search the docs for backpressure', { tools: [searchDocs] }));
    expectWellFormed(events);
    const start = events.find((event) => event.type === 'tool-call-start');
    const deltas = events.filter((event) => event.type === 'tool-call-delta');
    const call = events.find((event) => event.type === 'tool-call');
    expect(start).toMatchObject({ toolName: 'search_docs' });
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(call).toMatchObject({ toolCallId: start?.toolCallId, toolName: 'search_docs' });
    expect(JSON.parse(deltas.map((delta) => delta.delta).join(''))).toEqual(call?.input);
    // The command words are not part of the query.
    expect(call?.input).toEqual({ query: 'backpressure' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
    expect(textOf(events)).toContain('Let me call `search_docs` for that.');
    // The tool call comes after the text that announces it.
    expect(events.findIndex((event) => event.type === 'text-end')).toBeLessThan(events.indexOf(start as AgentEvent));
  });

  it('answers from the docs when the offered tools do not fit the question, or toolChoice is none', async () => {
    const weather: ToolDefinition = { name: 'get_weather', description: 'The weather in a city.', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } };
    for (const request of [
      ask('What is backpressure?', { tools: [weather] }),
      ask('Search the docs for backpressure', { tools: [searchDocs], toolChoice: 'none' }),
    ]) {
      const events = await collect(request);
      expect(events.some((event) => event.type.startsWith('tool-call'))).toBe(false);
      expect(events.at(-1)).toMatchObject({ finishReason: 'stop' });
    }
  });

  it('answers with the tool result once the conversation contains it', async () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Search the docs for backpressure' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'search_docs', input: { query: 'backpressure' } }] },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'call_1',
            toolName: 'search_docs',
            output: [
              { title: 'Pull-based streaming', snippet: 'sluice pulls the next item only when the socket drains.' },
              { title: 'Node adapter', snippet: 'sendStream waits for drain or close.' },
            ],
          },
        ],
      },
    ];
    const events = await collect({ model: 'local', messages, tools: [searchDocs] });
    expectWellFormed(events);
    const text = textOf(events);
    expect(text).toContain('The `search_docs` tool returned 2 results:');
    expect(text).toContain('- **Pull-based streaming**: sluice pulls the next item only when the socket drains.');
    expect(text).toContain('Sources: the result of `search_docs`.');
    expect(events.some((event) => event.type.startsWith('tool-call'))).toBe(false);
    expect(events.at(-1)).toMatchObject({ finishReason: 'stop' });
  });

  it('reports usage that counts its own deltas and input deterministically', async () => {
    const events = await collect(ask('What is backpressure?'));
    const deltas = events.filter((event) => event.type === 'text-delta' || event.type === 'reasoning-delta');
    const reasoning = events.filter((event) => event.type === 'reasoning-delta');
    const usage = events.find((event) => event.type === 'usage');
    expect(usage).toMatchObject({ outputTokens: deltas.length, reasoningTokens: reasoning.length, cachedInputTokens: 0 });
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.totalTokens).toBe((usage?.inputTokens ?? 0) + deltas.length);
    expect(events.at(-1)).toMatchObject({ usage: { outputTokens: deltas.length } });
  });

  it('stops at maxOutputTokens with finish "length", parts still balanced', async () => {
    for (const max of [1, 10, 60]) {
      const events = await collect(ask('What is backpressure?', { maxOutputTokens: max }));
      expectWellFormed(events);
      const deltas = events.filter((event) => event.type.endsWith('-delta'));
      expect(deltas).toHaveLength(max);
      expect(events.at(-1)).toMatchObject({ finishReason: 'length', usage: { outputTokens: max } });
    }
  });

  it('rejects bad options at creation and bad requests or variables before the first event', async () => {
    expect(() => createLocalProvider({ ttftMs: -1 })).toThrow(RangeError);
    expect(() => createLocalProvider({ tokensPerSecond: Number.NaN })).toThrow(RangeError);
    await expect(collect(ask('hi', { maxOutputTokens: 0 }))).rejects.toThrow(RangeError);
    const badEnv = createLocalProvider({ env: { SLUICE_LOCAL_TPS: 'fast' } });
    await expect(collect(ask('hi'), badEnv)).rejects.toThrow(/SLUICE_LOCAL_TPS/);
    await expect(collect(ask('hi', { toolChoice: { toolName: 'nope' } }))).rejects.toThrow(TypeError);
  });
});

describe('pacing', () => {
  it('waits ttftMs before the first token, then keeps close to tokensPerSecond without drift', async () => {
    const provider = createLocalProvider({ ttftMs: 50, tokensPerSecond: 200 });
    const started = performance.now();
    const times: number[] = [];
    for await (const event of provider(ask('What is backpressure?', { maxOutputTokens: 80 }))) {
      if (event.type.endsWith('-delta')) times.push(performance.now() - started);
    }
    expect(times).toHaveLength(80);
    const first = times[0] ?? 0;
    const last = times.at(-1) ?? 0;
    expect(first).toBeGreaterThanOrEqual(50);
    expect(first).toBeLessThan(150);
    const rate = ((times.length - 1) * 1000) / (last - first);
    expect(rate).toBeGreaterThan(140);
    expect(rate).toBeLessThan(260);
    // Drift-free: the last token is due at 50 + 79 × 5 = 445 ms; sleeps added up would end far later.
    expect(last).toBeGreaterThanOrEqual(445);
    expect(last).toBeLessThan(445 + 120);
  });

  it('reads SLUICE_LOCAL_TTFT_MS and SLUICE_LOCAL_TPS on each call; 0 tokens per second is unpaced', async () => {
    const env: Record<string, string | undefined> = { SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '0' };
    const provider = createLocalProvider({ env });
    let started = performance.now();
    await collect(ask('What is backpressure?'), provider);
    expect(performance.now() - started).toBeLessThan(100);
    env['SLUICE_LOCAL_TTFT_MS'] = '150';
    started = performance.now();
    const iterator = provider(ask('What is backpressure?'))[Symbol.asyncIterator]();
    await iterator.next(); // message-start comes at once
    expect(performance.now() - started).toBeLessThan(100);
    await iterator.next(); // reasoning-start, with the first token
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    await iterator.return?.();
  });
});

describe('abort', () => {
  it('rejects the pending next() within a few ms of the abort, with the reason, and ends the iterator', async () => {
    const provider = createLocalProvider({ ttftMs: 0, tokensPerSecond: 8 });
    const controller = new AbortController();
    const iterator = provider(ask('What is backpressure?'), { signal: controller.signal })[Symbol.asyncIterator]();
    let deltas = 0;
    while (deltas < 3) {
      const { value } = await iterator.next();
      if (value?.type.endsWith('-delta')) deltas++;
    }
    const pending = iterator.next(); // waits ~125 ms for the next token
    const reason = new DOMException('stopped', 'AbortError');
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(50); // the next token was ~125 ms away
    // The generator has finished (its finally blocks ran): nothing more comes out.
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('stops an unpaced stream at the next event, and never starts with an aborted signal', async () => {
    const controller = new AbortController();
    const iterator = fast(ask('What is backpressure?'), { signal: controller.signal })[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    controller.abort(new Error('gone'));
    await expect(iterator.next()).rejects.toThrow('gone');
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
    const again = fast(ask('hi'), { signal: controller.signal })[Symbol.asyncIterator]();
    await expect(again.next()).rejects.toThrow('gone');
  });

  it('ends at once when the consumer breaks out of the loop', async () => {
    const provider = createLocalProvider({ ttftMs: 0, tokensPerSecond: 5 });
    const iterable = provider(ask('What is backpressure?'));
    const iterator = iterable[Symbol.asyncIterator]();
    await iterator.next();
    const started = performance.now();
    await iterator.return?.();
    expect(performance.now() - started).toBeLessThan(50); // the next token was 200 ms away
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
  });
});
