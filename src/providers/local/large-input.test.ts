/**
 * A huge user message costs the local demo model no more than a paragraph: it reads, searches and
 * plans from a bounded start of it, searches each term once, and quotes only a short excerpt of it
 * in its thinking, text and tool inputs, so neither the work nor the output grows with the input.
 */
import MiniSearch from 'minisearch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../../protocol/types.ts';
import type { ChatRequest, ToolDefinition } from '../types.ts';
import { composeReply } from './compose-reply.ts';
import { createLocalProvider } from './local-language-model.ts';
import { findExpression, MAX_EXPRESSION_CHARS, planBuiltinCall } from './plan-builtin-call.ts';
import { MAX_QUESTION_CHARS, readConversation } from './read-conversation.ts';
import { MAX_QUERY_TERMS, searchDocs, searchTerms } from './search-docs.ts';
import { excerpt, MAX_EXCERPT, truncate } from './summarize-tool-result.ts';
import { tokenizeForSearch } from './tokenize-for-search.ts';

const fast = createLocalProvider({ ttftMs: 0, tokensPerSecond: Infinity });

const object = (properties: Record<string, unknown>, required: string[]): ToolDefinition['inputSchema'] => ({ type: 'object', properties, required });
/** The built-in tools as `sluice serve` offers them to the model (their input schemas, shortened). */
const TOOLS: ToolDefinition[] = [
  { name: 'calculator', description: 'Exact arithmetic.', inputSchema: object({ expression: { type: 'string' } }, ['expression']) },
  { name: 'search_docs', description: 'Search the sluice documentation.', inputSchema: object({ query: { type: 'string' }, limit: { type: 'integer' } }, ['query']) },
  { name: 'analyze_data', description: 'Statistics of the sales data.', inputSchema: object({ dataset: { type: 'string' }, question: { type: 'string' } }, ['dataset']) },
  { name: 'generate_report', description: 'Writes a report from the docs.', inputSchema: object({ topic: { type: 'string' } }, ['topic']) },
  { name: 'publish_event', description: 'Publishes an event on a topic.', inputSchema: object({ topic: { type: 'string' }, data: {} }, ['topic', 'data']) },
];
const ECHO: ToolDefinition = { name: 'everything__echo', description: 'Echoes the message back.', inputSchema: object({ message: { type: 'string' } }, ['message']) };

const ask = (content: string, tools: ToolDefinition[] = TOOLS): ChatRequest => ({ model: 'local', messages: [{ role: 'user', content }], tools });

async function collect(request: ChatRequest): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  for await (const event of fast(request)) events.push(event);
  return events;
}

/** Every string in a tool input, however deep. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

const deltaChars = (events: AgentEvent[]): number =>
  events.reduce((sum, event) => sum + ('delta' in event && typeof event.delta === 'string' ? event.delta.length : 0), 0);

const SSE_WORDS = 'backpressure streaming resume sse redis ';
/** The tester's messages, each about 200 KB (the first 1 MB). */
const HUGE: [string, string][] = [
  ['the same five words, 1 MB', SSE_WORDS.repeat(25_000)],
  ['a sales analysis', `Analyze the sales data ${'region '.repeat(28_000)}`],
  ['a report request', `Write a report on ${'sse '.repeat(50_000)}`],
  ['a long sum', `${'1+'.repeat(100_000)}1`],
  ['Chinese text', '背压流式传输恢复'.repeat(25_000)],
  ['a publish request', `Publish on topic ops that ${'deploy '.repeat(28_000)}`],
  ['one long word', 'a'.repeat(200_000)],
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a huge message to the local model', () => {
  it.each(HUGE)('searches at most %#: each term once, and at most MAX_QUERY_TERMS of them (%s)', (_name, content) => {
    const search = vi.spyOn(MiniSearch.prototype, 'search');
    for (const tools of [TOOLS, [], [ECHO]]) composeReply(ask(content, tools));
    expect(search).toHaveBeenCalled();
    for (const [query, options] of search.mock.calls) {
      // What MiniSearch searches: the search's own tokenizer when it has one, else the index's.
      const tokenize = (options as { tokenize?: (text: string) => string[] } | undefined)?.tokenize ?? tokenizeForSearch;
      const terms = tokenize(query as string);
      expect(terms.length).toBeLessThanOrEqual(MAX_QUERY_TERMS);
      expect(new Set(terms).size).toBe(terms.length);
    }
  });

  it.each(HUGE)('puts at most an excerpt of it in a tool input (%s)', (_name, content) => {
    for (const tools of [TOOLS, [ECHO], [{ ...ECHO, name: 'lookup', description: 'Look up anything.' }]]) {
      const reply = composeReply({ ...ask(content, tools), toolChoice: tools === TOOLS ? 'auto' : 'required' });
      // A calculator's expression is taken whole (up to the calculator's limit); text is an excerpt.
      const most = reply.toolCall?.toolName === 'calculator' ? MAX_EXPRESSION_CHARS : MAX_EXCERPT + 1;
      for (const text of strings(reply.toolCall?.input)) expect(Array.from(text).length).toBeLessThanOrEqual(most);
      expect(reply.reasoning.length).toBeLessThan(2_000);
      expect(reply.text.length).toBeLessThan(5_000);
    }
  });

  it('streams the same events for 8 KB of a repeated message as for 1 MB of it, a bounded number', async () => {
    const small = await collect(ask(SSE_WORDS.repeat(200)));
    const large = await collect(ask(SSE_WORDS.repeat(25_000)));
    const kinds = (events: AgentEvent[]): string[] => events.map((event) => event.type);
    expect(kinds(large)).toEqual(kinds(small));
    expect(deltaChars(large)).toBe(deltaChars(small));
    // Before, the 8 KB message came back as 3,700 events and 1 MB as 450,000 (75 MB of SSE).
    expect(large.length).toBeLessThan(600);
    expect(deltaChars(large)).toBeLessThan(4_000);
  });

  it.each(HUGE)('streams a bounded reply (%s)', async (_name, content) => {
    for (const tools of [TOOLS, [], [ECHO]]) {
      const events = await collect(ask(content, tools));
      expect(events.length).toBeLessThan(1_500);
      expect(deltaChars(events)).toBeLessThan(8_000);
    }
  });
});

describe('the bounds', () => {
  it('reads at most MAX_QUESTION_CHARS of the last user message, and says when it cut', () => {
    const reading = readConversation([{ role: 'user', content: `  ${'x'.repeat(10_000)}` }]);
    expect(reading.question).toHaveLength(MAX_QUESTION_CHARS);
    expect(reading.cut).toBe(true);
    expect(readConversation([{ role: 'user', content: 'What is SSE?' }]).cut).toBeUndefined();
    // No half surrogate pair at the cut.
    const emoji = readConversation([{ role: 'user', content: `${'x'.repeat(MAX_QUESTION_CHARS - 1)}😀😀` }]).question;
    expect(emoji).toBe('x'.repeat(MAX_QUESTION_CHARS - 1));
  });

  it('searches each term once, from the first 500 characters', () => {
    expect(searchTerms('sse sse streaming SSE streams')).toEqual(['sse', 'stream']);
    expect(searchTerms(SSE_WORDS.repeat(25_000))).toEqual(['backpressure', 'stream', 'resume', 'sse', 'redi']);
    expect(searchTerms(Array.from({ length: 1000 }, (_, i) => `word${i}`).join(' '))).toHaveLength(MAX_QUERY_TERMS);
    expect(searchDocs(SSE_WORDS.repeat(25_000), { limit: 1 })[0]?.doc.id).toBe(searchDocs(SSE_WORDS, { limit: 1 })[0]?.doc.id);
  });

  it('hands the calculator no expression longer than it takes, nor one the cut may have ended early', () => {
    expect(findExpression(`${'1+'.repeat(MAX_EXPRESSION_CHARS)}1`)).toBeUndefined();
    expect(findExpression(`${'1+'.repeat(400)}1`)).toBe(`${'1+'.repeat(400)}1`);
    expect(findExpression('What is 17*23? and 1+2+3+4', true)).toBe('17*23');
    expect(findExpression('What is 17*23? and 1+2+3+4', false)).toBe('1+2+3+4');
    // A sum that goes on past the cut: the part of it that was read is not the question's arithmetic.
    const question = readConversation([{ role: 'user', content: `What is 2*3? ${'x'.repeat(1500)} 1+${'2+'.repeat(300)}2` }]);
    expect(question.cut).toBe(true);
    expect(planBuiltinCall({ model: 'local', messages: [], tools: TOOLS }, question.question, question.cut === true)?.input).toEqual({ expression: '2*3' });
  });

  it('keeps a short text whole, and cuts a long one to MAX_EXCERPT characters and an ellipsis', () => {
    expect(excerpt('line one\n  line two')).toBe('line one\n  line two');
    expect(excerpt('x'.repeat(MAX_EXCERPT))).toBe('x'.repeat(MAX_EXCERPT));
    expect(excerpt('x'.repeat(MAX_EXCERPT + 1))).toBe(`${'x'.repeat(MAX_EXCERPT)}…`);
    expect(excerpt('word '.repeat(1000))).toBe(`${'word '.repeat(40).trimEnd()}…`);
    expect(excerpt('😀'.repeat(300))).toBe(`${'😀'.repeat(MAX_EXCERPT)}…`);
    expect(truncate(`${' '.repeat(100_000)}x`, 80)).toBe('x');
    expect(truncate(`x${' '.repeat(100_000)}y`, 80)).toBe('x…');
    expect(truncate(`a${' '.repeat(100_000)}`, 80)).toBe('a');
  });
});
