/**
 * The approval events in the codecs: the AI SDK's own `tool-approval-request` /
 * `tool-approval-response` / `tool-output-denied` chunks (read by the real `ai` package), AG-UI's
 * `RUN_FINISHED` with an `interrupt` outcome (checked by @ag-ui/core's schema), and where a
 * response pauses for its client's answer.
 */
import { EventSchema } from '@ag-ui/core/schemas';
import { readUIMessageStream, uiMessageChunkSchema, type UIMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { APPROVAL_EVENTS } from '../src/protocol/__fixtures__/agent-events.ts';
import { agUi } from '../src/protocol/ag-ui.ts';
import { aiSdkUiStream } from '../src/protocol/ai-sdk-ui-stream.ts';
import { createApprovalPause } from '../src/protocol/approval-pause.ts';
import type { AgentEvent } from '../src/protocol/types.ts';

const REQUEST_INDEX = APPROVAL_EVENTS.findIndex((event) => event.type === 'approval-request');
/** Up to and with both approval requests: where the run waits. */
const UNTIL_WAIT = APPROVAL_EVENTS.slice(0, REQUEST_INDEX + 2);

function frames(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: ') && block !== 'data: [DONE]')
    .map((block) => JSON.parse(block.slice(6)) as unknown);
}

describe('createApprovalPause', () => {
  it('waits only once every call of the step is settled or waiting, and stops waiting at the answer', () => {
    const pause = createApprovalPause();
    const seen = UNTIL_WAIT.map((event) => pause.add(event));
    // The first request leaves call_q open; the second makes both wait.
    expect(seen.slice(0, -1).every((waiting) => !waiting)).toBe(true);
    expect(seen.at(-1)).toBe(true);
    expect(pause.pending.map((request) => request.approvalId)).toEqual(['apr_1', 'apr_2']);
    expect(pause.add({ type: 'approval-response', approvalId: 'apr_1', approved: true })).toBe(false);
  });

  it('ignores requests this client has just answered', () => {
    const pause = createApprovalPause({ answered: new Set(['apr_1', 'apr_2']) });
    expect(UNTIL_WAIT.map((event) => pause.add(event)).some(Boolean)).toBe(false);
  });
});

describe('AI SDK UI message stream', () => {
  it('sends the approval chunks, which the ai package reads into approval-requested, approval-responded and output-denied parts', async () => {
    const format = aiSdkUiStream();
    const body = APPROVAL_EVENTS.map((event) => format.encode(event)).join('');
    const chunks = frames(body);
    for (const chunk of chunks) expect((await uiMessageChunkSchema().validate!(chunk)).success).toBe(true);
    expect(chunks).toContainEqual({ type: 'tool-approval-request', approvalId: 'apr_1', toolCallId: 'call_p' });
    expect(chunks).toContainEqual({ type: 'tool-approval-response', approvalId: 'apr_2', approved: false, reason: 'not now' });
    expect(chunks).toContainEqual({ type: 'tool-output-denied', toolCallId: 'call_q' });
    let last: UIMessage | undefined;
    const stream = new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    for await (const message of readUIMessageStream({ stream: stream as never })) last = message;
    const tools = last!.parts.filter((part) => part.type === 'tool-publish_event') as { toolCallId: string; state: string; approval?: unknown }[];
    expect(tools.map((part) => [part.toolCallId, part.state])).toEqual([
      ['call_p', 'output-available'],
      ['call_q', 'output-denied'],
    ]);
    expect(tools[1]!.approval).toEqual({ id: 'apr_2', approved: false, reason: 'not now' });
  });

  it('pauseForApproval ends the response after the next event the way the AI SDK ends a step waiting for approval', () => {
    const format = aiSdkUiStream({ messageId: 'm1' });
    let body = UNTIL_WAIT.slice(0, -1).map((event) => format.encode(event)).join('');
    format.pauseForApproval();
    body += format.encode(UNTIL_WAIT.at(-1) as AgentEvent);
    expect(body.endsWith('data: {"type":"tool-approval-request","approvalId":"apr_2","toolCallId":"call_q"}\n\ndata: {"type":"finish","finishReason":"tool-calls"}\n\ndata: [DONE]\n\n')).toBe(true);
    expect(format.encode({ type: 'approval-response', approvalId: 'apr_1', approved: true })).toBe('');
  });
});

describe('AG-UI', () => {
  it('a paused run ends with RUN_FINISHED and an interrupt outcome naming every waiting approval', () => {
    const format = agUi({ threadId: 'th', runId: 'r1' });
    let body = UNTIL_WAIT.slice(0, -1).map((event) => format.encode(event)).join('');
    format.pauseForApproval();
    body += format.encode(UNTIL_WAIT.at(-1) as AgentEvent);
    const events = frames(body) as Record<string, unknown>[];
    for (const event of events) expect(EventSchema.safeParse(event).success, JSON.stringify(event)).toBe(true);
    expect(events.at(-1)).toEqual({
      type: 'RUN_FINISHED',
      threadId: 'th',
      runId: 'r1',
      outcome: {
        type: 'interrupt',
        interrupts: [
          { id: 'apr_1', reason: 'tool_approval', message: 'Approve the call of `publish_event`?', toolCallId: 'call_p', metadata: { toolName: 'publish_event', input: { topic: 'ops', data: 'up' } } },
          { id: 'apr_2', reason: 'tool_approval', message: 'Approve the call of `publish_event`?', toolCallId: 'call_q', metadata: { toolName: 'publish_event', input: { topic: 'ops', data: 'down' } } },
        ],
      },
    });
  });

  it('a denied call gets a tool result saying so', () => {
    const format = agUi({ threadId: 'th', runId: 'r2' });
    const events = frames(APPROVAL_EVENTS.map((event) => format.encode(event)).join('')) as Record<string, unknown>[];
    expect(events).toContainEqual({ type: 'TOOL_CALL_RESULT', messageId: 'call_q-result', toolCallId: 'call_q', content: '{"denied":true,"reason":"not now"}', role: 'tool' });
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', outcome: { type: 'success' } });
  });
});

describe('createMessageAccumulator', () => {
  it('keeps each call’s approval and decision, and marks the denied call', async () => {
    const { accumulateAgentEvents } = await import('../src/protocol/message-accumulator.ts');
    const message = await accumulateAgentEvents(APPROVAL_EVENTS);
    const [approved, denied] = message.toolCalls;
    expect(approved).toMatchObject({ toolCallId: 'call_p', approval: { approvalId: 'apr_1', approved: true }, output: { id: '1' } });
    expect(approved!.denied).toBeUndefined();
    expect(denied).toMatchObject({ toolCallId: 'call_q', approval: { approvalId: 'apr_2', approved: false, reason: 'not now' }, denied: { reason: 'not now' } });
  });
});

describe('createApprovalPause with client tools', () => {
  it('a client tool call in the same step does not keep the response from pausing', () => {
    const events: AgentEvent[] = [
      { type: 'step-start', step: 1 },
      { type: 'tool-call', toolCallId: 'c_client', toolName: 'confirm_in_ui', input: {} },
      { type: 'tool-call', toolCallId: 'c_pub', toolName: 'publish_event', input: {} },
      { type: 'approval-request', approvalId: 'a', toolCallId: 'c_pub', toolName: 'publish_event', input: {} },
    ];
    const without = createApprovalPause();
    expect(events.map((event) => without.add(event)).at(-1)).toBe(false);
    const pause = createApprovalPause({ clientTools: new Set(['confirm_in_ui']) });
    expect(events.map((event) => pause.add(event)).at(-1)).toBe(true);
  });
});
