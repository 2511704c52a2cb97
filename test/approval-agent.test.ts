/**
 * Tool approval in the agent loop, with scripted models: the loop asks the gate before a call of a
 * tool with `needsApproval` runs and streams `approval-request` / `approval-response`; a denied
 * call never runs and the model gets the denial as the call's result; `needsApproval` as a
 * function of the validated input; no gate means denied (`no_approver`); decisions a client sent
 * after the run that asked ended are carried out before the first model call; and the local
 * model calls `publish_event` when asked to publish or announce.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runAgent, tool, type ApprovalDecision, type ApprovalGate, type ApprovalRequest } from '../src/agent/index.ts';
import { createPublishEventTool } from '../src/agent/tools/publish-event.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { planBuiltinCall } from '../src/providers/local/plan-builtin-call.ts';
import type { ChatMessage, ChatRequest, Provider } from '../src/providers/types.ts';
import { collect } from './providers-helpers.ts';

/** A model that calls `calls` in its first step, then answers with the results it got. */
function scriptedModel(calls: { id: string; name: string; input: unknown }[]): Provider & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  const provider = async function* (request: ChatRequest): AsyncGenerator<AgentEvent> {
    requests.push(structuredClone(request));
    yield { type: 'message-start', messageId: `m${requests.length}` };
    if (requests.length === 1 && calls.length > 0) {
      for (const call of calls) yield { type: 'tool-call', toolCallId: call.id, toolName: call.name, input: call.input };
      yield { type: 'finish', finishReason: 'tool-calls' };
      return;
    }
    yield { type: 'text-delta', id: 't', delta: 'ok' };
    yield { type: 'finish', finishReason: 'stop' };
  };
  return Object.assign(provider, { requests });
}

/** A gate that answers every request with `decide(request)` and records what it was asked. */
function recordingGate(decide: (request: ApprovalRequest) => ApprovalDecision): ApprovalGate & { opened: ApprovalRequest[] } {
  const opened: ApprovalRequest[] = [];
  return {
    opened,
    open: (request) => {
      opened.push(request);
      return Promise.resolve();
    },
    wait: (request) => Promise.resolve(decide(request)),
  };
}

function deleteTool(ran: string[]) {
  return tool({
    name: 'delete_file',
    description: 'Deletes a file.',
    input: z.object({ path: z.string() }),
    needsApproval: ({ path }) => !path.startsWith('tmp/'),
    execute: ({ path }) => {
      ran.push(path);
      return { deleted: path };
    },
  });
}

const USER: ChatMessage[] = [{ role: 'user', content: 'clean up' }];

describe('runAgent with tools that need approval', () => {
  it('asks before the call runs; approved: the tool runs after approval-response', async () => {
    const ran: string[] = [];
    const gate = recordingGate(() => ({ approved: true }));
    const events = await collect(runAgent({ provider: scriptedModel([{ id: 'c1', name: 'delete_file', input: { path: 'src/a.ts' } }]), model: 'm', messages: USER, tools: [deleteTool(ran)], approvals: gate }));
    expect(gate.opened).toEqual([{ approvalId: expect.stringMatching(/^approval-/), toolCallId: 'c1', toolName: 'delete_file', input: { path: 'src/a.ts' } }]);
    const approvalId = gate.opened[0]!.approvalId;
    const relevant = events.filter((event) => ['approval-request', 'approval-response', 'tool-result', 'tool-output-denied'].includes(event.type));
    expect(relevant).toEqual([
      { type: 'approval-request', approvalId, toolCallId: 'c1', toolName: 'delete_file', input: { path: 'src/a.ts' } },
      { type: 'approval-response', approvalId, approved: true },
      { type: 'tool-result', toolCallId: 'c1', toolName: 'delete_file', output: { deleted: 'src/a.ts' } },
    ]);
    expect(ran).toEqual(['src/a.ts']);
  });

  it('denied: the tool never runs, tool-output-denied is streamed and the model gets the denial as the result', async () => {
    const ran: string[] = [];
    const model = scriptedModel([{ id: 'c1', name: 'delete_file', input: { path: 'src/a.ts' } }]);
    const events = await collect(runAgent({ provider: model, model: 'm', messages: USER, tools: [deleteTool(ran)], approvals: recordingGate(() => ({ approved: false, reason: 'keep it' })) }));
    expect(ran).toEqual([]);
    expect(events).toContainEqual({ type: 'tool-output-denied', toolCallId: 'c1', toolName: 'delete_file', reason: 'keep it' });
    expect(events.some((event) => event.type === 'tool-result')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const toolMessage = model.requests[1]!.messages.at(-1)!;
    expect(toolMessage).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'delete_file',
          output: 'Denied: the call of `delete_file` was not approved (reason: keep it), so it did not run and nothing was done. Tell the user; do not claim it ran.',
          isError: true,
        },
      ],
    });
  });

  it('needsApproval as a function of the input: only the calls it says need asking are asked about', async () => {
    const ran: string[] = [];
    const gate = recordingGate(() => ({ approved: true }));
    await collect(
      runAgent({
        provider: scriptedModel([
          { id: 'c1', name: 'delete_file', input: { path: 'tmp/x' } },
          { id: 'c2', name: 'delete_file', input: { path: 'src/y' } },
        ]),
        model: 'm',
        messages: USER,
        tools: [deleteTool(ran)],
        approvals: gate,
      }),
    );
    expect(gate.opened.map((request) => request.toolCallId)).toEqual(['c2']);
    expect(ran.sort()).toEqual(['src/y', 'tmp/x']);
  });

  it('without a gate a call that needs approval is denied with reason no_approver', async () => {
    const ran: string[] = [];
    const events = await collect(runAgent({ provider: scriptedModel([{ id: 'c1', name: 'delete_file', input: { path: 'src/a.ts' } }]), model: 'm', messages: USER, tools: [deleteTool(ran)] }));
    expect(ran).toEqual([]);
    expect(events).toContainEqual({ type: 'tool-output-denied', toolCallId: 'c1', toolName: 'delete_file', reason: 'no_approver' });
  });

  it('invalid input is a tool-error, never an approval request', async () => {
    const gate = recordingGate(() => ({ approved: true }));
    const events = await collect(runAgent({ provider: scriptedModel([{ id: 'c1', name: 'delete_file', input: { path: 5 } }]), model: 'm', messages: USER, tools: [deleteTool([])], approvals: gate }));
    expect(gate.opened).toEqual([]);
    expect(events.find((event) => event.type === 'tool-error')).toMatchObject({ toolCallId: 'c1' });
  });

  it('a stop while waiting ends the run with abort and the tool never runs', async () => {
    const ran: string[] = [];
    const controller = new AbortController();
    const gate: ApprovalGate = {
      open: () => Promise.resolve(),
      wait: (_request, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          controller.abort(new DOMException('stop', 'AbortError'));
        }),
    };
    const events = await collect(runAgent({ provider: scriptedModel([{ id: 'c1', name: 'delete_file', input: { path: 'src/a.ts' } }]), model: 'm', messages: USER, tools: [deleteTool(ran)], approvals: gate, signal: controller.signal }));
    expect(ran).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'abort' });
  });

  it('decidedApprovals: decisions sent after the run that asked ended run (or deny) the calls before the model is called', async () => {
    const ran: string[] = [];
    const model = scriptedModel([]);
    const messages: ChatMessage[] = [
      ...USER,
      {
        role: 'assistant',
        content: [
          { type: 'tool-call', toolCallId: 'c1', toolName: 'delete_file', input: { path: 'src/a.ts' } },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'delete_file', input: { path: 'src/b.ts' } },
        ],
      },
    ];
    const events = await collect(
      runAgent({
        provider: model,
        model: 'm',
        messages,
        tools: [deleteTool(ran)],
        decidedApprovals: [
          { toolCallId: 'c1', approvalId: 'a1', approved: true },
          { toolCallId: 'c2', approvalId: 'a2', approved: false, reason: 'no' },
        ],
      }),
    );
    expect(ran).toEqual(['src/a.ts']);
    expect(events.filter((event) => event.type === 'approval-response')).toEqual([
      { type: 'approval-response', approvalId: 'a1', approved: true },
      { type: 'approval-response', approvalId: 'a2', approved: false, reason: 'no' },
    ]);
    const results = model.requests[0]!.messages.at(-1)!.content as { toolCallId: string; isError?: boolean }[];
    expect(results.map((part) => [part.toolCallId, part.isError === true])).toEqual([
      ['c1', false],
      ['c2', true],
    ]);
  });

  it('decidedApprovals with the logged call: it runs with the logged tool name and input, and the model sees those, not the messages\' copy', async () => {
    const ran: string[] = [];
    const model = scriptedModel([]);
    const messages: ChatMessage[] = [
      ...USER,
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'delete_file', input: { path: 'client/chosen.ts' } }] },
    ];
    await collect(
      runAgent({
        provider: model,
        model: 'm',
        messages,
        tools: [deleteTool(ran)],
        decidedApprovals: [{ toolCallId: 'c1', approvalId: 'a1', approved: true, call: { toolName: 'delete_file', input: { path: 'src/logged.ts' } } }],
      }),
    );
    expect(ran).toEqual(['src/logged.ts']);
    const sent = model.requests[0]!.messages;
    expect((sent.at(-2)!.content as { input: unknown }[])[0]!.input).toEqual({ path: 'src/logged.ts' });
    // The caller's messages are not modified.
    expect((messages[1]!.content as { input: unknown }[])[0]!.input).toEqual({ path: 'client/chosen.ts' });
  });
});

describe('the local model and publish_event', () => {
  const offered: ChatRequest = { model: 'local', messages: [], tools: [{ name: 'publish_event', description: '', inputSchema: {} }, { name: 'calculator', description: '', inputSchema: {} }] };

  it.each([
    ['Publish "deploy done" on topic ops', { topic: 'ops', data: { text: 'deploy done' } }],
    ['Announce that the release is out', { topic: 'demo', data: { text: 'the release is out' } }],
    ['Broadcast on channel team-7: build 42 passed', { topic: 'team-7', data: { text: 'build 42 passed' } }],
    ['在主题 news 发布：“今晚维护”', { topic: 'news', data: { text: '今晚维护' } }],
  ])('%s → publish_event %j', (question, input) => {
    expect(planBuiltinCall(offered, question)).toEqual({ toolName: 'publish_event', input, reason: 'publish' });
  });

  it('answers after approval and after denial from the result', async () => {
    const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
    const publish = createPublishEventTool({ publish: () => Promise.resolve('42') });
    const ask = (decision: ApprovalDecision) =>
      collect(runAgent({ provider: local, model: 'local', messages: [{ role: 'user', content: 'Publish "hi" on topic t' }], tools: [publish], approvals: recordingGate(() => decision) }));
    const text = (events: AgentEvent[]) => events.flatMap((event) => (event.type === 'text-delta' ? [event.delta] : [])).join('');
    expect(text(await ask({ approved: true }))).toContain("Approved and published: the event's id is `42`");
    expect(text(await ask({ approved: false, reason: 'timeout' }))).toContain('was not approved (nobody answered in time), so I did not run it and nothing was published');
  });
});

describe('takeover and approvals', () => {
  it('a denied call is settled in the rebuilt state: a takeover never runs it or calls it interrupted', async () => {
    const { rebuildAgentState } = await import('../src/agent/run-agent.ts');
    const state = rebuildAgentState(USER, [
      { type: 'message-start', messageId: 'm1' },
      { type: 'step-start', step: 1 },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'delete_file', input: { path: 'src/a.ts' } },
      { type: 'step-finish', step: 1, finishReason: 'tool-calls' },
      { type: 'approval-request', approvalId: 'a1', toolCallId: 'c1', toolName: 'delete_file', input: { path: 'src/a.ts' } },
      { type: 'approval-response', approvalId: 'a1', approved: false, reason: 'keep it' },
      { type: 'tool-output-denied', toolCallId: 'c1', toolName: 'delete_file', reason: 'keep it' },
    ]);
    expect(state.phase.kind).toBe('tools');
    const results = (state.phase as { results: Map<string, { output: unknown; isError?: boolean }> }).results;
    expect(results.get('c1')).toMatchObject({ isError: true, output: expect.stringMatching(/^Denied: the call of `delete_file` was not approved \(reason: keep it\)/) });
  });
});
