import { describe, expect, it } from 'vitest';
import {
  AgUiRunBody,
  AiSdkChatBody,
  approvalReason,
  fromAgUiMessages,
  fromOpenAiMessages,
  fromOpenAiToolChoice,
  fromOpenAiTools,
  fromUiMessages,
  MAX_APPROVAL_REASON,
  MAX_ID,
  NativeChatBody,
  OpenAiChatBody,
} from './request-schemas.ts';

describe('request conversion', () => {
  it('turns OpenAI tool calls and tool results into parts, naming results after their call', () => {
    const body = OpenAiChatBody.parse({
      model: 'local',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'weather in ' }, { type: 'text', text: 'Paris?' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
      ],
    });
    expect(fromOpenAiMessages(body.messages)).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'weather in Paris?' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'get_weather', output: '18°C' }] },
    ]);
  });

  it('keeps tool arguments that are not JSON as text', () => {
    const body = OpenAiChatBody.parse({
      model: 'local',
      messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 't', arguments: 'not json' } }] }],
    });
    expect(fromOpenAiMessages(body.messages)[0]).toMatchObject({ content: [{ type: 'tool-call', input: 'not json' }] });
  });

  it('turns OpenAI tools and tool_choice into the provider’s terms', () => {
    expect(fromOpenAiTools([{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }])).toEqual([{ name: 'f', inputSchema: { type: 'object' } }]);
    expect(fromOpenAiToolChoice({ type: 'function', function: { name: 'f' } })).toEqual({ toolName: 'f' });
    expect(fromOpenAiToolChoice('required')).toBe('required');
  });

  it('turns AG-UI messages into chat messages, skipping activity messages', () => {
    const body = AgUiRunBody.parse({
      threadId: 't',
      runId: 'r',
      messages: [
        { id: '1', role: 'user', content: 'hi' },
        { id: '2', role: 'activity', content: { x: 1 } },
        { id: '3', role: 'assistant', content: '', toolCalls: [{ id: 'tc', type: 'function', function: { name: 'search', arguments: '{"q":"sse"}' } }] },
        { id: '4', role: 'tool', toolCallId: 'tc', content: 'found' },
      ],
    });
    expect(fromAgUiMessages(body.messages)).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'tc', toolName: 'search', input: { q: 'sse' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'tc', toolName: 'search', output: 'found' }] },
    ]);
  });

  it('turns AI SDK UIMessages into chat messages, with tool outputs as tool results', () => {
    const body = AiSdkChatBody.parse({
      messages: [
        { id: 'u', role: 'user', parts: [{ type: 'text', text: 'weather?' }] },
        {
          id: 'a',
          role: 'assistant',
          parts: [
            { type: 'step-start' },
            { type: 'tool-get_weather', toolCallId: 'c1', state: 'output-available', input: { city: 'Oslo' }, output: { c: 3 } },
            { type: 'text', text: 'It is 3°C.' },
          ],
        },
      ],
    });
    expect(fromUiMessages(body.messages)).toEqual([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'get_weather', input: { city: 'Oslo' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'get_weather', output: { c: 3 } }] },
      { role: 'assistant', content: 'It is 3°C.' },
    ]);
  });

  it('takes /v1/chat parts as the provider’s MessagePart: agent events copied as they are, optional fields only when given, unknown fields dropped', () => {
    const body = NativeChatBody.parse({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'be brief' }] },
        { role: 'user', content: 'weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'two calls' },
            { type: 'tool-call', toolCallId: 'c1', toolName: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool-call', toolCallId: 'c2', toolName: 'get_weather', input: { city: 'Oslo' }, extra: true },
          ],
        },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'get_weather', output: null }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c2', toolName: 'get_weather', output: 'timed out', isError: true }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Paris: no data; Oslo: timed out.' }] },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'be brief' }] },
      { role: 'user', content: 'weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'two calls' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'get_weather', output: null }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c2', toolName: 'get_weather', output: 'timed out', isError: true }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Paris: no data; Oslo: timed out.' }] },
    ]);
    expect(Object.keys((body.messages[2]!.content as object[])[0]!)).toEqual(['type', 'text']);
  });
});

describe('approval reasons', () => {
  const uiBody = (reason: unknown) => ({
    messages: [
      { role: 'user', parts: [{ type: 'text', text: 'publish it' }] },
      { role: 'assistant', parts: [{ type: 'tool-publish_event', toolCallId: 'c1', state: 'approval-responded', input: {}, approval: { id: 'a1', approved: false, reason } }] },
    ],
  });
  const agUiBody = (reason: unknown) => ({ threadId: 't', runId: 'r', messages: [], resume: [{ interruptId: 'a1', status: 'resolved', payload: { approved: false, reason } }] });

  it('caps them at MAX_APPROVAL_REASON characters through /api/chat and AG-UI resume, as the REST route does', () => {
    const long = 'x'.repeat(MAX_APPROVAL_REASON + 1);
    const ok = 'x'.repeat(MAX_APPROVAL_REASON);
    expect(AiSdkChatBody.safeParse(uiBody(ok)).success).toBe(true);
    const ui = AiSdkChatBody.safeParse(uiBody(long));
    expect(ui.success).toBe(false);
    expect(ui.error?.issues[0]).toMatchObject({ path: ['messages', 1, 'parts', 0, 'approval', 'reason'], message: 'a reason is at most 1000 characters' });
    expect(AgUiRunBody.safeParse(agUiBody(ok)).success).toBe(true);
    const agUi = AgUiRunBody.safeParse(agUiBody(long));
    expect(agUi.success).toBe(false);
    expect(agUi.error?.issues[0]).toMatchObject({ path: ['resume', 0, 'payload', 'reason'], message: 'a reason is at most 1000 characters' });
    expect(approvalReason.safeParse(long).success).toBe(false);
  });

  it('leaves what they did not check before alone: no reason, a reason that is no string, a resume that is no list', () => {
    expect(AiSdkChatBody.safeParse(uiBody(undefined)).success).toBe(true);
    expect(AiSdkChatBody.safeParse(uiBody(42)).success).toBe(true);
    expect(AgUiRunBody.safeParse({ ...agUiBody(undefined), resume: 'later' }).success).toBe(true);
    expect(AgUiRunBody.safeParse({ ...agUiBody(undefined), resume: [null, { interruptId: 'a2' }] }).success).toBe(true);
  });
});

describe('client-chosen ids', () => {
  const message = { role: 'user', parts: [{ type: 'text', text: 'hi' }] };

  it('caps a chat id at MAX_ID characters (it is a key in the store), with an error naming it', () => {
    expect(MAX_ID).toBe(256);
    expect(AiSdkChatBody.safeParse({ id: 'c'.repeat(MAX_ID), messages: [message] }).success).toBe(true);
    expect(AiSdkChatBody.safeParse({ messages: [message] }).success).toBe(true);
    const long = AiSdkChatBody.safeParse({ id: 'c'.repeat(500_000), messages: [message] });
    expect(long.success).toBe(false);
    expect(long.error?.issues[0]).toMatchObject({ path: ['id'], message: 'a chat id is at most 256 characters' });
  });

  it('caps an AG-UI thread id and run id alike (the thread is a key in the store, both are in every event)', () => {
    const body = (threadId: string, runId: string) => ({ threadId, runId, messages: [] });
    expect(AgUiRunBody.safeParse(body('t'.repeat(MAX_ID), 'r'.repeat(MAX_ID))).success).toBe(true);
    expect(AgUiRunBody.safeParse(body('t'.repeat(MAX_ID + 1), 'r')).error?.issues[0]).toMatchObject({ path: ['threadId'], message: 'a thread id is at most 256 characters' });
    expect(AgUiRunBody.safeParse(body('t', 'r'.repeat(MAX_ID + 1))).error?.issues[0]).toMatchObject({ path: ['runId'], message: 'a run id is at most 256 characters' });
    expect(AgUiRunBody.safeParse(body('', 'r')).success).toBe(false);
  });
});
