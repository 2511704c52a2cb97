/**
 * The local demo model with the built-in tools through the agent loop: each tool triggered by its
 * phrase, its events streamed, and the answer written from the result it got back.
 */
import { describe, expect, it } from 'vitest';
import { createBuiltinTools, runAgent } from '../src/agent/index.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { collect } from './providers-helpers.ts';

const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: Infinity });
const tools = createBuiltinTools({ paceMs: 0 });

async function ask(question: string): Promise<AgentEvent[]> {
  return collect(runAgent({ provider: local, model: 'local', messages: [{ role: 'user', content: question }], tools }));
}

const text = (events: AgentEvent[]): string => events.flatMap((e) => (e.type === 'text-delta' ? [e.delta] : [])).join('');
/** The text of the last step: the answer after the tool. */
const answer = (events: AgentEvent[]): string => text(events.slice(events.findLastIndex((e) => e.type === 'step-start')));
const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

/** The grammar every run keeps: tool-call-start, its deltas, then tool-call; one result per call; one terminal event, last. */
function expectWellFormed(events: AgentEvent[]): void {
  expect(events[0]?.type).toBe('message-start');
  expect(events.filter((e) => e.type === 'message-start')).toHaveLength(1);
  expect(events.filter((e) => e.type === 'finish' || e.type === 'error' || e.type === 'abort')).toEqual([events.at(-1)]);
  for (const call of ofType(events, 'tool-call')) {
    const start = events.findIndex((e) => e.type === 'tool-call-start' && e.toolCallId === call.toolCallId);
    const deltas = ofType(events, 'tool-call-delta').filter((e) => e.toolCallId === call.toolCallId);
    expect(start, `tool-call-start of ${call.toolCallId}`).toBeGreaterThanOrEqual(0);
    expect(start).toBeLessThan(events.indexOf(call));
    expect(JSON.parse(deltas.map((d) => d.delta).join(''))).toEqual(call.input);
    const results = events.filter((e) => (e.type === 'tool-result' || e.type === 'tool-error') && e.toolCallId === call.toolCallId);
    expect(results).toHaveLength(1);
  }
}

describe('the local model with the built-in tools', () => {
  it('calls calculator for arithmetic and answers with the exact value', async () => {
    const events = await ask('What is 17*23?');
    expectWellFormed(events);
    expect(ofType(events, 'tool-call')).toEqual([expect.objectContaining({ toolName: 'calculator', input: { expression: '17*23' } })]);
    expect(ofType(events, 'tool-result')[0]?.output).toEqual({ expression: '17*23', value: '391', exact: true });
    expect(answer(events)).toContain('17*23 = 391');
    expect(ofType(events, 'step-finish').map((e) => e.finishReason)).toEqual(['tool-calls', 'stop']);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('gets decimals exactly right, and answers a Chinese question in Chinese', async () => {
    expect(answer(await ask('What is 0.1 + 0.2?'))).toContain('0.1 + 0.2 = 0.3');
    const zh = await ask('17×23 等于多少？');
    expect(ofType(zh, 'tool-call')[0]?.input).toEqual({ expression: '17×23' });
    expect(answer(zh)).toContain('17×23 = 391');
    expect(text(zh)).toContain('内置的本地演示模型');
  });

  it('calls search_docs when asked to search, streams a source per hit before the result, and answers from the hits', async () => {
    const events = await ask('Search the docs for backpressure');
    expectWellFormed(events);
    expect(ofType(events, 'tool-call')[0]).toMatchObject({ toolName: 'search_docs', input: { query: 'backpressure' } });
    const sources = ofType(events, 'source');
    const result = ofType(events, 'tool-result')[0];
    expect(sources.length).toBeGreaterThan(0);
    expect(sources[0]).toMatchObject({ id: 'en/backpressure', title: 'Backpressure' });
    expect(events.indexOf(sources.at(-1)!)).toBeLessThan(events.indexOf(result!));
    const hits = (result?.output as { hits: { id: string; snippet: string }[] }).hits;
    expect(hits.map((h) => h.id)).toEqual(sources.map((s) => s.id));
    expect(answer(events)).toContain(`**Backpressure**\n${hits[0]?.snippet}`);
    expect(answer(events)).toContain('Sources: `en/backpressure` (Backpressure)');
  });

  it('looks general questions about sluice up in the docs, in English and Chinese', async () => {
    const en = await ask('How do I resume a stream after reconnecting?');
    expect(ofType(en, 'tool-call')[0]).toMatchObject({ toolName: 'search_docs' });
    expect(ofType(en, 'source')[0]?.id).toBe('en/reconnection-resume');
    expect(answer(en)).toContain('`en/reconnection-resume`');
    const zh = await ask('什么是背压？');
    expect(ofType(zh, 'source')[0]?.id).toBe('zh/backpressure');
    expect(answer(zh)).toContain('参考：`zh/backpressure`');
  });

  it('calls analyze_data when asked to analyze the data: progress rising to total, data, then a summary', async () => {
    const events = await ask('Please analyze the sales data: which region sells most?');
    expectWellFormed(events);
    expect(ofType(events, 'tool-call')[0]).toMatchObject({ toolName: 'analyze_data', input: { dataset: 'sales' } });
    const callId = ofType(events, 'tool-call')[0]?.toolCallId;
    const progress = ofType(events, 'progress');
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.every((p) => p.toolCallId === callId && p.total === progress[0]?.total)).toBe(true);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
    expect(progress.at(-1)?.done).toBe(progress.at(-1)?.total);
    expect(ofType(events, 'data').map((d) => d.name)).toContain('revenueByRegion');
    const output = ofType(events, 'tool-result')[0]?.output as { rows: number; revenueByRegion: { name: string }[] };
    expect(answer(events)).toContain(`I analyzed the \`sales\` dataset: ${output.rows} rows`);
    expect(answer(events)).toContain(`Top region: ${output.revenueByRegion[0]?.name}`);
  });

  it('calls generate_report when asked for a report: progress per section, data per section, the report in the answer', async () => {
    const events = await ask('Write a report on resume and reconnection');
    expectWellFormed(events);
    expect(ofType(events, 'tool-call')[0]).toMatchObject({ toolName: 'generate_report', input: { topic: 'resume and reconnection' } });
    const progress = ofType(events, 'progress');
    const total = progress[0]?.total ?? 0;
    expect(total).toBeGreaterThan(1);
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
    expect(ofType(events, 'data').filter((d) => d.name === 'report-section')).toHaveLength(total);
    const report = ofType(events, 'tool-result')[0]?.output as { markdown: string };
    expect(answer(events)).toContain(report.markdown.trim());
    expect(answer(events)).toContain('# Report: resume and reconnection');
  });

  it('answers from the docs without tools, and says it is a demo model', async () => {
    const events = await collect(runAgent({ provider: local, model: 'local', messages: [{ role: 'user', content: 'What is backpressure?' }] }));
    expect(ofType(events, 'tool-call')).toEqual([]);
    expect(text(events)).toContain('built-in local demo model');
    expect(text(events)).toContain('**Backpressure**\nBackpressure means the consumer sets the pace');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('alone (no loop), it stops at the tool call with finish reason tool-calls', async () => {
    const definitions = tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema }));
    const events = await collect(local({ model: 'local', messages: [{ role: 'user', content: 'What is 17*23?' }], tools: definitions }));
    expect(ofType(events, 'tool-call')[0]).toMatchObject({ toolName: 'calculator', input: { expression: '17*23' } });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
  });
});
