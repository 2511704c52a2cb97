/**
 * The MCP client: `@modelcontextprotocol/server-everything`, over stdio and over Streamable HTTP,
 * offers its tools to the model next to the built-ins; its long-running tool's progress reaches a
 * `/v1/chat` client as `progress` events of that call before the result; stopping the run sends
 * `notifications/cancelled` to the server; a server that is down or slow is a clear `tool-error`
 * (or an unreachable line in the startup log), never a stuck run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { connectMcpServers } from '../src/agent/mcp/mcp-client.ts';
import type { McpServersConfig } from '../src/agent/mcp/mcp-config.ts';
import { runTool } from '../src/agent/run-tool.ts';
import { runChat } from '../src/cli/chat.ts';
import { tool } from '../src/agent/tool.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import type { Provider } from '../src/providers/types.ts';
import { createApp, serve, startupLog, type AppHandler } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { shutdownServer } from '../src/server/shutdown.ts';
import { deferred, startServer, type TestServer } from './helpers/http.ts';
import { createParser } from '../src/sse/parse.ts';
import { agentEvents, readEvents, type ReceivedEvent } from './helpers/sse-events.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const EVERYTHING = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const RECORDER = fileURLToPath(new URL('./mcp-stdio-recorder.ts', import.meta.url));
const DYING = fileURLToPath(new URL('./mcp-dying-server.ts', import.meta.url));
const LONG = 'everything__trigger-long-running-operation';

/**
 * A model that calls one tool with a set input, then answers with the tool's result: the calls
 * a real model would make, without teaching the demo model each input.
 */
function callingModel(toolName: string, input: Record<string, unknown>): Provider {
  return async function* (request): AsyncGenerator<AgentEvent> {
    const last = request.messages.at(-1);
    if (last?.role === 'tool') {
      const result = Array.isArray(last.content) ? last.content.find((part) => part.type === 'tool-result') : undefined;
      yield { type: 'text-start', id: 't' };
      yield { type: 'text-delta', id: 't', delta: `The tool said: ${JSON.stringify(result?.output)}` };
      yield { type: 'text-end', id: 't' };
      yield { type: 'finish', finishReason: 'stop' };
      return;
    }
    if (!request.tools?.some((offered) => offered.name === toolName)) throw new Error(`${toolName} is not offered`);
    yield { type: 'tool-call', toolCallId: 'call_1', toolName, input };
    yield { type: 'finish', finishReason: 'tool-calls' };
  };
}

async function startApp(mcpServers: McpServersConfig, model: Provider): Promise<{ app: AppHandler; server: TestServer }> {
  const models = createModelRegistry({ env: {}, providers: { local: model } });
  const app = createApp({ env: {}, models, mcpServers });
  await app.mcpReady;
  return { app, server: await startServer(app) };
}

function chat(base: string, content = 'go'): Promise<Response> {
  return fetch(`${base}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content }] }) });
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** server-everything over Streamable HTTP on a free loopback port, once it says it listens. */
async function startEverythingHttp(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${log}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('listening on port')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}: ${log}`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

/** Stops a child process and waits for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * A recording proxy in front of an HTTP MCP server: every JSON-RPC message the client posts is
 * kept with the status the server answered it with; responses (SSE included) stream through.
 */
async function startRecordingProxy(target: string): Promise<{ server: TestServer; seen: { message: Record<string, unknown>; status: number }[] }> {
  const seen: { message: Record<string, unknown>; status: number }[] = [];
  const server = await startServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
    const upstream = await fetch(target, { method: req.method ?? 'GET', headers, ...(body.length > 0 ? { body } : {}) });
    if (body.length > 0) seen.push({ message: JSON.parse(body.toString('utf8')) as Record<string, unknown>, status: upstream.status });
    const out: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!['content-length', 'transfer-encoding', 'content-encoding', 'connection'].includes(name)) out[name] = value;
    });
    res.writeHead(upstream.status, out);
    try {
      if (upstream.body !== null) for await (const chunk of upstream.body) res.write(chunk);
    } catch {
      // The client left (the test stopped the run): the upstream read ends with it.
    }
    res.end();
  });
  return { server, seen };
}

/** Reads a response's agent events in the background, into `events` as they arrive. */
function collectEvents(response: Response): { events: ReceivedEvent[]; done: Promise<void> } {
  const events: ReceivedEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(...agentEvents([event])) });
  const done = (async () => {
    for await (const chunk of response.body!) parser.feed(chunk);
  })();
  return { events, done };
}

/** The events of a run up to its end: ids consecutive, progress and result of `call_1` in order. */
function expectProgressThenResult(events: readonly ReceivedEvent[], toolName: string): void {
  const ofCall = events.filter((event) => event.data.toolCallId === 'call_1');
  const progress = ofCall.filter((event) => event.type === 'progress');
  const resultAt = ofCall.findIndex((event) => event.type === 'tool-result');
  expect(progress.length).toBeGreaterThanOrEqual(3);
  expect(resultAt).toBeGreaterThan(ofCall.indexOf(progress.at(-1)!));
  const dones = progress.map((event) => event.data.done as number);
  expect(dones).toEqual([...dones].sort((a, b) => a - b));
  expect(progress.at(-1)!.data).toMatchObject({ done: 4, total: 4 });
  expect(ofCall[resultAt]!.data).toMatchObject({ toolName, output: expect.stringContaining('Long running operation completed') });
  expect(events.at(-1)!.type).toBe('finish');
}

describe('server-everything over stdio', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-mcp-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('its long-running tool’s progress reaches /v1/chat as progress events before the result', async () => {
    const { app, server } = await startApp({ everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } }, callingModel(LONG, { duration: 1.2, steps: 4 }));
    try {
      const response = await chat(server.url);
      expect(response.status).toBe(200);
      const { events, ended } = await readEvents(response);
      expect(ended).toBe(true);
      expectProgressThenResult(agentEvents(events), LONG);
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
    }
  }, 30_000);

  it('stopping the run mid-tool sends notifications/cancelled for the call to the server', async () => {
    const log = join(dir, 'stdin.jsonl');
    const { app, server } = await startApp(
      { everything: { command: process.execPath, args: [RECORDER, log, process.execPath, EVERYTHING, 'stdio'] } },
      callingModel(LONG, { duration: 20, steps: 20 }),
    );
    try {
      const response = await chat(server.url);
      const id = response.headers.get('x-stream-id')!;
      const reader = readEvents(response);
      const readLog = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id?: number; method?: string; params?: { requestId?: number; name?: string } });
      // The call is running once the server has been sent it.
      await expect.poll(async () => (await readLog()).some((message) => message.method === 'tools/call'), { timeout: 10_000 }).toBe(true);
      expect((await fetch(`${server.url}/v1/streams/${id}`, { method: 'DELETE' })).status).toBeLessThan(300);
      const { events } = await reader;
      expect(agentEvents(events).at(-1)!.type).toBe('abort');
      await expect.poll(async () => (await readLog()).find((message) => message.method === 'notifications/cancelled'), { timeout: 5000 }).toBeDefined();
      const sent = await readLog();
      const call = sent.find((message) => message.method === 'tools/call')!;
      expect(sent.find((message) => message.method === 'notifications/cancelled')!.params!.requestId).toBe(call.id);
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
    }
  }, 30_000);

  it('the startup log lists the servers with their tool counts, and an unreachable one with why', async () => {
    const port = await freePort();
    const server = await serve({
      port: 0,
      env: {},
      mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] }, down: { url: `http://127.0.0.1:${port}/mcp` } },
    });
    try {
      const line = startupLog(server).find((entry) => entry.includes('MCP:'));
      expect(line).toMatch(/MCP: everything \(stdio, (\d+) tools\), down \(http, unreachable: The MCP server "down" \(http:\/\/127\.0\.0\.1:\d+\/mcp\) is unreachable: .+\)/);
      expect(Number(/stdio, (\d+) tools/.exec(line!)![1])).toBeGreaterThanOrEqual(10);
    } finally {
      await shutdownServer(server, { drainMs: 0 });
    }
  }, 30_000);

  it('a server slower than the call timeout is a clear tool failure, not a stuck call', async () => {
    const connection = await connectMcpServers({ everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } }, { callTimeoutMs: 300, stderr: 'ignore' });
    try {
      const slow = connection.tools.find((candidate) => candidate.name === LONG)!;
      const outcome = await runTool(slow, { toolCallId: 'c', input: { duration: 5, steps: 1 }, signal: undefined, timeoutMs: 10_000, emit: () => undefined });
      expect(outcome).toEqual({ ok: false, message: `The MCP server "everything" did not answer \`trigger-long-running-operation\` within 300 ms.` });
    } finally {
      await connection.close();
    }
  }, 15_000);
});

describe('a stdio server that dies', () => {
  it('fails the call it died in with a clear message, and is started again for the next call', async () => {
    const connection = await connectMcpServers({ dying: { command: process.execPath, args: [DYING] } }, { stderr: 'ignore' });
    const call = (name: string) => runTool(connection.tools.find((candidate) => candidate.name === name)!, { toolCallId: 'c', input: {}, signal: undefined, timeoutMs: 10_000, emit: () => undefined });
    try {
      const first = await call('dying__pid');
      expect(first.ok).toBe(true);
      expect(await call('dying__die')).toEqual({ ok: false, message: expect.stringMatching(/^The MCP server "dying" closed the connection during `die`: /) });
      const second = await call('dying__pid');
      expect(second.ok).toBe(true);
      expect((second as { output: unknown }).output).not.toBe((first as { output: unknown }).output);
    } finally {
      await connection.close();
    }
  }, 20_000);
});

describe('sluice chat (in process) with SLUICE_MCP_SERVERS', () => {
  beforeAll(() => {
    // The demo model reads its pacing from process.env.
    vi.stubEnv('SLUICE_LOCAL_TTFT_MS', '0');
    vi.stubEnv('SLUICE_LOCAL_TPS', '0');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('the demo model calls the MCP tool the question names, marked like the built-ins', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const env = { SLUICE_LOCAL_TTFT_MS: '0', SLUICE_LOCAL_TPS: '0', SLUICE_MCP_SERVERS: JSON.stringify({ everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } }) };
    const code = await runChat(['use everything__echo to say hello'], { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, env });
    const text = out.join('');
    expect(code, err.join('')).toBe(0);
    expect(text).toMatch(/\[tool call\] everything__echo \{"message":".*hello.*"\}/);
    expect(text).toMatch(/\[tool result\] everything__echo "Echo: .*hello/);
    expect(err).toEqual([]);
  }, 20_000);
});

describe('server-everything over Streamable HTTP', () => {
  let everything: { url: string; child: ChildProcess };
  beforeAll(async () => {
    everything = await startEverythingHttp();
  }, 20_000);
  afterAll(async () => {
    await stop(everything.child);
  });

  it('its long-running tool’s progress reaches /v1/chat as progress events before the result', async () => {
    const { app, server } = await startApp({ everything: { url: everything.url } }, callingModel(LONG, { duration: 1.2, steps: 4 }));
    try {
      expect(app.describe().at(-1)).toMatch(/^MCP: everything \(http, \d+ tools\)$/);
      const { events, ended } = await readEvents(await chat(server.url));
      expect(ended).toBe(true);
      expectProgressThenResult(agentEvents(events), LONG);
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
    }
  }, 30_000);

  it('stopping the run mid-tool sends notifications/cancelled, which the server accepts', async () => {
    const proxy = await startRecordingProxy(everything.url);
    const { app, server } = await startApp({ everything: { url: `${proxy.server.url}/mcp` } }, callingModel(LONG, { duration: 20, steps: 20 }));
    try {
      const response = await chat(server.url);
      const id = response.headers.get('x-stream-id')!;
      const reader = readEvents(response);
      await expect.poll(() => proxy.seen.some(({ message }) => message.method === 'tools/call'), { timeout: 10_000 }).toBe(true);
      expect((await fetch(`${server.url}/v1/streams/${id}`, { method: 'DELETE' })).status).toBeLessThan(300);
      expect(agentEvents((await reader).events).at(-1)!.type).toBe('abort');
      await expect.poll(() => proxy.seen.find(({ message }) => message.method === 'notifications/cancelled'), { timeout: 5000 }).toBeDefined();
      const call = proxy.seen.find(({ message }) => message.method === 'tools/call')!;
      const cancelled = proxy.seen.find(({ message }) => message.method === 'notifications/cancelled')!;
      expect((cancelled.message.params as { requestId: unknown }).requestId).toBe(call.message.id);
      expect(cancelled.status).toBe(202);
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
      await proxy.server.close();
    }
  }, 30_000);
});

describe('sluice’s /mcp as the MCP server of another sluice', () => {
  it('stopping the run cancels the call on the server: the tool’s signal aborts', async () => {
    const started = deferred();
    const aborted = deferred<string>();
    const waiting = tool({
      name: 'wait',
      description: 'Reports progress, then waits until it is cancelled.',
      input: z.object({}),
      async *execute(_input, { signal }) {
        yield { type: 'progress', done: 1, total: 3 };
        started.resolve();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        aborted.resolve(signal.reason instanceof Error ? signal.reason.message : String(signal.reason));
        return 'stopped';
      },
    });
    const upstreamApp = createApp({ env: {}, tools: [waiting] });
    const upstream = await startServer(upstreamApp);
    const { app, server } = await startApp({ upstream: { url: `${upstream.url}/mcp` } }, callingModel('upstream__wait', {}));
    try {
      const response = await chat(server.url);
      const live = collectEvents(response);
      await started.promise;
      // Stop once the progress reached this side: the call is mid-way for both.
      await expect.poll(() => live.events.some((event) => event.type === 'progress')).toBe(true);
      await fetch(`${server.url}/v1/streams/${response.headers.get('x-stream-id')!}`, { method: 'DELETE' });
      await expect(aborted.promise).resolves.toMatch(/stop|cancel|closed/i);
      await live.done;
      const events = live.events;
      expect(events.filter((event) => event.type === 'progress')[0]!.data).toMatchObject({ toolCallId: 'call_1', done: 1, total: 3 });
      expect(events.at(-1)!.type).toBe('abort');
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
      await upstreamApp.shutdown({ drainMs: 0 });
      await upstream.close();
    }
  }, 20_000);

  it('a server that restarted (its sessions gone, 404) gets a new session and the call goes through', async () => {
    let upstreamApp = createApp({ env: {} });
    const upstream = await startServer((req, res) => upstreamApp(req, res));
    const { app, server } = await startApp({ upstream: { url: `${upstream.url}/mcp` } }, callingModel('upstream__calculator', { expression: '6*7' }));
    const before = upstreamApp;
    try {
      // A new app behind the same address knows none of the old sessions.
      upstreamApp = createApp({ env: {} });
      await before.shutdown({ drainMs: 0 });
      const events = agentEvents((await readEvents(await chat(server.url))).events);
      expect(events.find((event) => event.type === 'tool-result')?.data).toMatchObject({ toolName: 'upstream__calculator', output: { value: '42' } });
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
      await upstreamApp.shutdown({ drainMs: 0 });
      await upstream.close();
    }
  }, 20_000);

  it('a server that went down after start is a clear tool-error, and the run finishes', async () => {
    const upstreamApp = createApp({ env: {} });
    const upstream = await startServer(upstreamApp);
    const { app, server } = await startApp({ upstream: { url: `${upstream.url}/mcp` } }, callingModel('upstream__calculator', { expression: '1+1' }));
    await upstreamApp.shutdown({ drainMs: 0 });
    await upstream.close();
    try {
      const events = agentEvents((await readEvents(await chat(server.url))).events);
      const failure = events.find((event) => event.type === 'tool-error');
      expect(failure?.data).toMatchObject({ toolCallId: 'call_1', toolName: 'upstream__calculator', message: expect.stringMatching(/^The MCP server "upstream" failed `calculator`: /) });
      expect(events.at(-1)!.type).toBe('finish');
    } finally {
      await app.shutdown({ drainMs: 0 });
      await server.close();
    }
  }, 20_000);
});
