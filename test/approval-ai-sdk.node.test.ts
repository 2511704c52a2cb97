/**
 * Tool approval through the real `ai` package, unchanged: its `AbstractChat` with
 * `DefaultChatTransport` on `/api/chat`, `addToolApprovalResponse` and
 * `sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses`. Approve → the tool
 * runs and the answer uses its result; deny → an `output-denied` part and an answer that says so.
 */
import { AbstractChat, DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, type ChatState, type ChatStatus, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { TopicEvent } from '../src/store/types.ts';
import { startServer, type TestServer } from './helpers/http.ts';

/** The plain state a framework binding (React, Vue, Svelte) would keep: arrays replaced on change. */
class PlainState implements ChatState<UIMessage> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  messages: UIMessage[] = [];
  pushMessage = (message: UIMessage): void => {
    this.messages = [...this.messages, message];
  };
  popMessage = (): void => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index: number, message: UIMessage): void => {
    this.messages = this.messages.map((m, i) => (i === index ? message : m));
  };
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

class TestChat extends AbstractChat<UIMessage> {
  constructor(url: string, id: string) {
    super({
      id,
      state: new PlainState(),
      transport: new DefaultChatTransport({ api: `${url}/api/chat` }),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });
  }
}

type ToolPart = { type: string; toolCallId: string; state: string; input?: unknown; output?: unknown; approval?: { id: string; approved?: boolean; reason?: string } };

const store = createMemoryStore();
let app: AppHandler;
let server: TestServer;

beforeAll(async () => {
  const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
  app = createApp({ env: {}, store, models: createModelRegistry({ env: {}, providers: { local } }) });
  server = await startServer(app);
});

afterAll(async () => {
  await app.shutdown({ drainMs: 0 });
  await server.close();
  await store.close();
});

function lastAssistant(chat: TestChat): UIMessage {
  const message = chat.messages.at(-1);
  if (message?.role !== 'assistant') throw new Error(`the last message is not the assistant's: ${JSON.stringify(chat.messages)}`);
  return message;
}

function publishPart(message: UIMessage): ToolPart {
  const parts = message.parts.filter((part) => part.type === 'tool-publish_event') as ToolPart[];
  expect(parts).toHaveLength(1);
  return parts[0]!;
}

function textOf(message: UIMessage): string {
  return message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
}

async function topicEvents(topic: string): Promise<TopicEvent[]> {
  const controller = new AbortController();
  const events: TopicEvent[] = [];
  const reading = (async () => {
    for await (const event of store.subscribe(topic, { after: '0', signal: controller.signal })) events.push(event);
  })();
  // The history replays at once; nothing live is awaited.
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort();
  await reading.catch(() => undefined);
  return events;
}

describe('ai Chat + DefaultChatTransport on /api/chat: tool approval', () => {
  it('approve: the request pauses the response, addToolApprovalResponse continues the same run, the tool runs and the answer uses its result', async () => {
    const chat = new TestChat(server.url, `chat-${crypto.randomUUID()}`);
    await chat.sendMessage({ text: 'Publish "release 1.2 is out" on topic news-approve' });
    expect(chat.status).toBe('ready');
    const asked = publishPart(lastAssistant(chat));
    expect(asked.state).toBe('approval-requested');
    expect(asked.input).toEqual({ topic: 'news-approve', data: { text: 'release 1.2 is out' } });
    expect(await topicEvents('news-approve')).toEqual([]);
    const waitingId = lastAssistant(chat).id;

    await chat.addToolApprovalResponse({ id: asked.approval!.id, approved: true });
    await vi.waitFor(() => {
      expect(chat.status).toBe('ready');
      expect(publishPart(lastAssistant(chat)).state).toBe('output-available');
      expect(textOf(lastAssistant(chat))).toMatch(/Approved and published/);
    }, { timeout: 10_000 });
    const message = lastAssistant(chat);
    // The same assistant message went on; no second one was added.
    expect(message.id).toBe(waitingId);
    expect(chat.messages.filter((m) => m.role === 'assistant')).toHaveLength(1);
    const done = publishPart(message);
    expect(done.approval).toMatchObject({ id: asked.approval!.id, approved: true });
    const { id } = done.output as { id: string };
    expect(textOf(message)).toContain(id);
    const published = await topicEvents('news-approve');
    expect(published).toEqual([{ id, data: { text: 'release 1.2 is out' } }]);
  });

  it('deny: an output-denied part, nothing published, and an answer that says so', async () => {
    const chat = new TestChat(server.url, `chat-${crypto.randomUUID()}`);
    await chat.sendMessage({ text: 'Announce on topic news-deny that the office is closed' });
    const asked = publishPart(lastAssistant(chat));
    expect(asked.state).toBe('approval-requested');
    await chat.addToolApprovalResponse({ id: asked.approval!.id, approved: false, reason: 'not today' });
    await vi.waitFor(() => {
      expect(chat.status).toBe('ready');
      expect(publishPart(lastAssistant(chat)).state).toBe('output-denied');
      expect(textOf(lastAssistant(chat))).toMatch(/was not approved \(reason: not today\), so I did not run it and nothing was published/);
    }, { timeout: 10_000 });
    expect(publishPart(lastAssistant(chat)).approval).toMatchObject({ approved: false, reason: 'not today' });
    expect(await topicEvents('news-deny')).toEqual([]);
    // The conversation goes on: the denied call goes back to the model with its denial as its result.
    await chat.sendMessage({ text: 'What is 2+3?' });
    expect(chat.status).toBe('ready');
    expect(textOf(lastAssistant(chat))).toContain('2+3 = 5');
  });

  it('the run that asked is gone (the store lost it): the answer is refused (409 approval_not_found), nothing runs', async () => {
    const chatId = `chat-${crypto.randomUUID()}`;
    const chat = new TestChat(server.url, chatId);
    await chat.sendMessage({ text: 'Publish "late news" on topic news-late' });
    const asked = publishPart(lastAssistant(chat));
    // The chat's stream is forgotten (as after an expiry or a restart of a memory store): nothing
    // proves the approval was ever asked for, so the client's copy of the call is not run.
    await store.setChatStream(chatId, undefined);
    await chat.addToolApprovalResponse({ id: asked.approval!.id, approved: true });
    await vi.waitFor(() => {
      expect(chat.status).toBe('error');
    }, { timeout: 10_000 });
    expect(chat.error?.message).toMatch(/approval_not_found|No pending approval/);
    expect(publishPart(lastAssistant(chat)).state).toBe('approval-responded');
    expect(await topicEvents('news-late')).toEqual([]);
  });
});
