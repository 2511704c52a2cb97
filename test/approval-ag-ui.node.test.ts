/**
 * Tool approval through `@ag-ui/client`'s `HttpAgent`, unchanged: the run that calls
 * `publish_event` ends with `RUN_FINISHED` and an `interrupt` outcome naming the approval
 * (`agent.pendingInterrupts`); the next run with `resume` answers it and the same agent run goes
 * on to finish with the tool's result (or the denial).
 */
import { HttpAgent } from '@ag-ui/client';
import type { BaseEvent } from '@ag-ui/core';
import { EventSchema } from '@ag-ui/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let app: AppHandler;
let server: TestServer;

beforeAll(async () => {
  const local = createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 });
  app = createApp({ env: {}, models: createModelRegistry({ env: {}, providers: { local } }) });
  server = await startServer(app);
});

afterAll(async () => {
  await app.shutdown({ drainMs: 0 });
  await server.close();
});

type AgEvent = BaseEvent & { outcome?: { type: string; interrupts?: { id: string; reason: string; toolCallId?: string }[] }; content?: string; delta?: string; toolCallId?: string };

async function run(agent: HttpAgent, parameters: Parameters<HttpAgent['runAgent']>[0]): Promise<AgEvent[]> {
  const events: AgEvent[] = [];
  await agent.runAgent(parameters, { onEvent: ({ event }) => void events.push(event as AgEvent) });
  for (const event of events) {
    const parsed = EventSchema.safeParse(event);
    if (!parsed.success) throw new Error(`@ag-ui/core rejects ${JSON.stringify(event)}: ${parsed.error.message}`);
  }
  return events;
}

function textOf(events: readonly AgEvent[]): string {
  return events.flatMap((event) => (event.type === 'TEXT_MESSAGE_CONTENT' ? [event.delta ?? ''] : [])).join('');
}

describe('@ag-ui/client HttpAgent on /v1/ag-ui: tool approval', () => {
  it('the run ends with an interrupt outcome; a resumed run answers it and finishes with the tool result', async () => {
    const agent = new HttpAgent({ url: `${server.url}/v1/ag-ui`, threadId: `thread-${crypto.randomUUID()}`, initialMessages: [{ id: 'u1', role: 'user', content: 'Publish "ag-ui says hi" on topic agui-news' }] });
    const first = await run(agent, { runId: 'run-1' });
    const finished = first.at(-1)!;
    expect(finished.type).toBe('RUN_FINISHED');
    expect(finished.outcome?.type).toBe('interrupt');
    const [interrupt] = finished.outcome!.interrupts!;
    expect(interrupt).toMatchObject({ reason: 'tool_approval', toolCallId: expect.any(String) });
    expect(agent.pendingInterrupts.map((pending) => pending.id)).toEqual([interrupt!.id]);

    const second = await run(agent, { runId: 'run-2', resume: [{ interruptId: interrupt!.id, status: 'resolved', payload: { approved: true } }] });
    expect(second[0]).toMatchObject({ type: 'RUN_STARTED', runId: 'run-2' });
    expect(second.at(-1)).toMatchObject({ type: 'RUN_FINISHED', runId: 'run-2', outcome: { type: 'success' } });
    expect(agent.pendingInterrupts).toEqual([]);
    const result = second.find((event) => event.type === 'TOOL_CALL_RESULT' && event.toolCallId === interrupt!.toolCallId);
    const { id } = JSON.parse(result!.content!) as { id: string };
    expect(textOf(second)).toContain(`Approved and published: the event's id is \`${id}\``);
  });

  it('a cancelled interrupt denies the call: the resumed run says nothing was published', async () => {
    const agent = new HttpAgent({ url: `${server.url}/v1/ag-ui`, threadId: `thread-${crypto.randomUUID()}`, initialMessages: [{ id: 'u1', role: 'user', content: 'Announce on topic agui-deny that the demo is over' }] });
    const first = await run(agent, { runId: 'run-1' });
    const interruptId = first.at(-1)!.outcome!.interrupts![0]!.id;
    const second = await run(agent, { runId: 'run-2', resume: [{ interruptId, status: 'cancelled' }] });
    expect(second.at(-1)).toMatchObject({ type: 'RUN_FINISHED', outcome: { type: 'success' } });
    expect(second.some((event) => event.type === 'TOOL_CALL_RESULT' && event.content === '{"denied":true,"reason":"cancelled"}')).toBe(true);
    expect(textOf(second)).toContain('nothing was published');
  });

  it('a resume for a thread the server does not know is a 409, not a new run', async () => {
    const agent = new HttpAgent({ url: `${server.url}/v1/ag-ui`, threadId: `thread-${crypto.randomUUID()}`, initialMessages: [{ id: 'u1', role: 'user', content: 'hi' }] });
    await expect(run(agent, { runId: 'run-9', resume: [{ interruptId: 'approval-nope', status: 'resolved' }] })).rejects.toThrow(/HTTP 409/);
  });
});
