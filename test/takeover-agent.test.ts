/**
 * The agent continued from its log (takeover), in one process: a run cut at any event and resumed
 * from the state its events describe yields the same answer as the uninterrupted run, with one
 * `step-start` marked `takeover` at the seam; a tool that was running is run again only when it is
 * idempotent, otherwise it ends as `tool-error` "interrupted".
 */
import { describe, expect, it } from 'vitest';
import { INTERRUPTED_MESSAGE, rebuildAgentState, resumeAgent, runAgent } from '../src/agent/run-agent.ts';
import { createBuiltinTools } from '../src/agent/tools/builtin-tools.ts';
import type { AnyAgentTool } from '../src/agent/types.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/local-language-model.ts';
import type { ChatMessage } from '../src/providers/types.ts';

const provider = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });

async function collect(events: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const all: AgentEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

const textOf = (events: readonly AgentEvent[]): string => events.map((event) => (event.type === 'text-delta' ? event.delta : '')).join('');
const reasoningOf = (events: readonly AgentEvent[]): string => events.map((event) => (event.type === 'reasoning-delta' ? event.delta : '')).join('');

async function cutAndResume(messages: ChatMessage[], tools: readonly AnyAgentTool[], cut: number): Promise<{ head: AgentEvent[]; rest: AgentEvent[] }> {
  const full = await collect(runAgent({ provider, model: 'local', messages, tools }));
  const head = full.slice(0, cut);
  const state = rebuildAgentState(messages, head);
  const rest = await collect(resumeAgent({ provider, model: 'local', messages, tools, state }));
  return { head, rest };
}

describe('an agent run continued from its log', () => {
  const question: ChatMessage[] = [{ role: 'user', content: 'What is backpressure?' }];

  it.each([
    ['without tools', [] as AnyAgentTool[]],
    ['with the built-in tools (search_docs, then the answer in step 2)', createBuiltinTools()],
  ])('cut at every event of an answer (%s): the text and reasoning equal the uninterrupted run, one seam, ends finish', async (_name, tools) => {
    const full = await collect(runAgent({ provider, model: 'local', messages: question, tools }));
    expect(full.at(-1)?.type).toBe('finish');
    for (let cut = 1; cut < full.length - 1; cut++) {
      const { head, rest } = await cutAndResume(question, tools, cut);
      const all = [...head, ...rest];
      expect(textOf(all), `cut at ${cut}`).toBe(textOf(full));
      expect(reasoningOf(all), `cut at ${cut}`).toBe(reasoningOf(full));
      expect(rest[0]).toMatchObject({ type: 'step-start', takeover: true });
      expect(rest.filter((event) => event.type === 'step-start' && event.takeover === true)).toHaveLength(1);
      expect(rest.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
      // The continued part of a text block has a new id (the old one ended at the seam for the UI codecs).
      const oldIds = new Set(head.flatMap((event) => (event.type === 'text-start' ? [event.id] : [])));
      for (const event of rest) if (event.type === 'text-start') expect(oldIds.has(event.id)).toBe(false);
    }
  });

  it("lost before the model's first event: the run starts over with message-start, its first step-start marked takeover", async () => {
    const full = await collect(runAgent({ provider, model: 'local', messages: question }));
    const rest = await collect(resumeAgent({ provider, model: 'local', messages: question, state: rebuildAgentState(question, []) }));
    expect(rest.slice(0, 2)).toEqual([full[0], { type: 'step-start', step: 1, takeover: true }]);
    expect(rest.slice(2)).toEqual(full.slice(2));
  });

  const reportQuestion: ChatMessage[] = [{ role: 'user', content: 'Write a report on backpressure' }];

  it('cut in the middle of an idempotent tool: it runs again, its result arrives once, the answer goes on', async () => {
    const tools = createBuiltinTools();
    const full = await collect(runAgent({ provider, model: 'local', messages: reportQuestion, tools }));
    const firstProgress = full.findIndex((event) => event.type === 'progress');
    expect(firstProgress).toBeGreaterThan(0);
    const { head, rest } = await cutAndResume(reportQuestion, tools, firstProgress + 2);
    const all = [...head, ...rest];
    const results = all.filter((event) => event.type === 'tool-result');
    expect(results).toHaveLength(1);
    expect(all.filter((event) => event.type === 'tool-call')).toHaveLength(1);
    expect(rest[0]).toMatchObject({ type: 'step-start', step: 1, takeover: true });
    expect(rest.at(-1)?.type).toBe('finish');
    expect(textOf(all)).toBe(textOf(full));
  });

  it('cut in the middle of a tool that is not idempotent: tool-error "interrupted", and the model answers on', async () => {
    const tools = createBuiltinTools().map((tool) => ({ ...tool, idempotent: false }));
    const full = await collect(runAgent({ provider, model: 'local', messages: reportQuestion, tools }));
    const firstProgress = full.findIndex((event) => event.type === 'progress');
    const { head, rest } = await cutAndResume(reportQuestion, tools, firstProgress + 2);
    const all = [...head, ...rest];
    expect(all.filter((event) => event.type === 'tool-result')).toHaveLength(0);
    const errors = all.filter((event) => event.type === 'tool-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: INTERRUPTED_MESSAGE });
    expect(rest.some((event) => event.type === 'progress')).toBe(false);
    expect(rest.at(-1)?.type).toBe('finish');
    expect(rest.filter((event) => event.type === 'step-start')).toEqual([
      { type: 'step-start', step: 1, takeover: true },
      { type: 'step-start', step: 2 },
    ]);
  });

  it('completed tool calls are never run again: cut after the tool result, the next step starts at the seam', async () => {
    const tools = createBuiltinTools();
    const full = await collect(runAgent({ provider, model: 'local', messages: reportQuestion, tools }));
    const result = full.findIndex((event) => event.type === 'tool-result');
    const { head, rest } = await cutAndResume(reportQuestion, tools, result + 1);
    expect(rest.some((event) => event.type === 'progress' || event.type === 'tool-result' || event.type === 'tool-error')).toBe(false);
    expect(rest[0]).toEqual({ type: 'step-start', step: 2, takeover: true });
    expect(textOf([...head, ...rest])).toBe(textOf(full));
  });
});

describe('tools that need approval', () => {
  it('are never run again by a takeover, even when idempotent: tool-error "interrupted"', async () => {
    const question: ChatMessage[] = [{ role: 'user', content: 'Write a report on backpressure' }];
    const tools = createBuiltinTools().map((tool) => (tool.name === 'generate_report' ? { ...tool, needsApproval: true } : tool));
    const plain = createBuiltinTools();
    // The log of a run cut in the middle of the report (written before approvals gate it, or approved).
    const full = await collect(runAgent({ provider, model: 'local', messages: question, tools: plain }));
    const head = full.slice(0, full.findIndex((event) => event.type === 'progress') + 1);
    const rest = await collect(resumeAgent({ provider, model: 'local', messages: question, tools, state: rebuildAgentState(question, head) }));
    expect(rest.some((event) => event.type === 'progress' || event.type === 'tool-result')).toBe(false);
    expect(rest.filter((event) => event.type === 'tool-error')).toEqual([
      expect.objectContaining({ toolName: 'generate_report', message: INTERRUPTED_MESSAGE }),
    ]);
    expect(rest.at(-1)?.type).toBe('finish');
  });
});
