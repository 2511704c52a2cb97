/**
 * `POST /mcp`: sluice's tools over MCP Streamable HTTP, read by the official MCP SDK client. The
 * built-in and the app's own tools are listed and called; progress notifications arrive as the tool
 * reports them, before the result; a cancelled call (the client's `notifications/cancelled`, or the
 * client going away) aborts the tool's signal; `SLUICE_API_KEYS` guards the route; and the official
 * conformance suite's server scenarios that apply pass.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tool } from '../src/agent/tool.ts';
import { createBuiltinTools } from '../src/agent/tools/builtin-tools.ts';
import { createApp, type AppHandler } from '../src/server/app.ts';
import { createAuth } from '../src/server/auth.ts';
import { mcpRoutes } from '../src/server/routes/mcp.ts';
import type { RouteContext } from '../src/server/router.ts';
import { deferred, startServer, type TestServer } from './helpers/http.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A tool that reports progress, then waits until its signal aborts, and says why it stopped. */
function createWaitingTool() {
  const started = deferred();
  const aborted = deferred<string>();
  const waiting = tool({
    name: 'wait_for_cancel',
    description: 'Reports one step, then waits until it is cancelled.',
    input: z.object({}),
    async *execute(_input, { signal }) {
      yield { type: 'progress', done: 1, total: 10, message: 'waiting' };
      started.resolve();
      await new Promise<void>((resolve) => {
        signal.addEventListener(
          'abort',
          () => {
            aborted.resolve(String((signal.reason as Error | undefined)?.message ?? signal.reason));
            resolve();
          },
          { once: true },
        );
      });
      return 'cancelled';
    },
  });
  return { waiting, started: started.promise, aborted: aborted.promise };
}

/** The tools the conformance scenarios call by name, as an app's own `tool()`s. */
const conformanceTools = [
  tool({ name: 'test_simple_text', description: 'Returns a simple text.', input: z.object({}), execute: () => 'This is a simple text response for testing.' }),
  tool({
    name: 'test_error_handling',
    description: 'Always fails.',
    input: z.object({}),
    execute: () => {
      throw new Error('This tool intentionally returns an error for testing');
    },
  }),
  tool({
    name: 'test_tool_with_progress',
    description: 'Reports progress 0, 50, 100 of 100.',
    input: z.object({}),
    async *execute(_input, { signal }) {
      for (const done of [0, 50, 100]) {
        yield { type: 'progress', done, total: 100 };
        if (done < 100) await new Promise((resolve) => setTimeout(resolve, 50, undefined).unref());
        signal.throwIfAborted();
      }
      return 'Progress test completed';
    },
  }),
];

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'sluice-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

let app: AppHandler;
let server: TestServer;
const waitingTools: ReturnType<typeof createWaitingTool>[] = [];
const waitingTool = {
  name: 'wait_for_cancel',
  description: 'Reports one step, then waits until it is cancelled.',
  inputSchema: { type: 'object', properties: {} },
  parseInput: (input: unknown) => input,
  // Each call gets a fresh waiting tool, so each test observes its own call.
  execute: (input: unknown, context: Parameters<ReturnType<typeof createWaitingTool>['waiting']['execute']>[1]) => {
    const created = createWaitingTool();
    waitingTools.push(created);
    return created.waiting.execute(input as Record<string, never>, context);
  },
};

beforeAll(async () => {
  app = createApp({ env: {}, tools: [...createBuiltinTools({ paceMs: 20 }), waitingTool, ...conformanceTools] });
  server = await startServer(app);
});

afterAll(async () => {
  await app.shutdown({ drainMs: 0 });
  await server.close();
});

describe('POST /mcp with the official MCP SDK client', () => {
  it('lists the built-in tools and the app’s own, with their JSON Schema', async () => {
    const client = await connect(server.url);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['search_docs', 'calculator', 'analyze_data', 'generate_report', 'wait_for_cancel', ...conformanceTools.map((t) => t.name)]);
      const calculator = tools.find((t) => t.name === 'calculator');
      expect(calculator?.inputSchema).toMatchObject({ type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] });
    } finally {
      await client.close();
    }
  });

  it('calls a tool and answers its output as text and structured content', async () => {
    const client = await connect(server.url);
    try {
      const result = await client.callTool({ name: 'calculator', arguments: { expression: '17*23' } });
      expect(result.isError).toBeUndefined();
      expect(result.structuredContent).toMatchObject({ expression: '17*23', value: '391' });
      expect(JSON.parse((result.content as { text: string }[])[0]!.text)).toMatchObject({ value: '391' });
    } finally {
      await client.close();
    }
  });

  it('sends every progress the tool reports as notifications/progress before the result', async () => {
    const client = await connect(server.url);
    try {
      const seen: string[] = [];
      const result = await client.callTool({ name: 'generate_report', arguments: { topic: 'backpressure' } }, undefined, {
        onprogress: (progress) => seen.push(`progress ${progress.progress}/${progress.total}`),
      });
      seen.push('result');
      const progress = seen.filter((entry) => entry.startsWith('progress'));
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect(seen.at(-1)).toBe('result');
      expect(seen.at(-2)).toMatch(/^progress (\d+)\/\1$/);
      expect((result.structuredContent as { markdown?: string }).markdown).toContain('backpressure');
    } finally {
      await client.close();
    }
  });

  it('a failing tool answers isError with its message; an unknown tool is a JSON-RPC error', async () => {
    const client = await connect(server.url);
    try {
      const failed = await client.callTool({ name: 'calculator', arguments: { expression: '1/0' } });
      expect(failed.isError).toBe(true);
      expect((failed.content as { text: string }[])[0]!.text).toMatch(/zero/i);
      // Security review: this one expression held the event loop for 13–24 s; now refused from its size.
      const huge = await client.callTool({ name: 'calculator', arguments: { expression: '(2^10000)^10000' } });
      expect(huge.isError).toBe(true);
      expect((huge.content as { text: string }[])[0]!.text).toMatch(/Result too large \(more than 10000 digits\)/);
      await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(/no tool named `nope`/);
    } finally {
      await client.close();
    }
  });

  it('the client’s cancellation (notifications/cancelled) aborts the tool’s signal', async () => {
    const client = await connect(server.url);
    try {
      const controller = new AbortController();
      const before = waitingTools.length;
      const call = client.callTool({ name: 'wait_for_cancel', arguments: {} }, undefined, { signal: controller.signal, onprogress: () => undefined });
      call.catch(() => undefined);
      await expect.poll(() => waitingTools.length).toBe(before + 1);
      const waiting = waitingTools[before]!;
      await waiting.started;
      controller.abort(new Error('the user pressed stop'));
      await expect(call).rejects.toThrow();
      await expect(waiting.aborted).resolves.toMatch(/cancel|stop/i);
    } finally {
      await client.close();
    }
  });

  it('a client that goes away mid-call aborts the tool’s signal', async () => {
    const client = await connect(server.url);
    const controller = new AbortController();
    try {
      const before = waitingTools.length;
      // A raw POST on the SDK client's session, so that its connection can be dropped.
      const transport = (client as unknown as { transport: StreamableHTTPClientTransport }).transport;
      const response = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 'raw-1', method: 'tools/call', params: { name: 'wait_for_cancel', arguments: {}, _meta: { progressToken: 'p1' } } }),
      });
      expect(response.status).toBe(200);
      await expect.poll(() => waitingTools.length).toBe(before + 1);
      await waitingTools[before]!.started;
      controller.abort();
      await expect(waitingTools[before]!.aborted).resolves.toMatch(/disconnected/);
    } finally {
      await client.close();
    }
  });

  it('GET without a session is a 400; DELETE ends the session, after which it is a 404', async () => {
    expect((await fetch(`${server.url}/mcp`, { headers: { accept: 'text/event-stream' } })).status).toBe(400);
    const client = await connect(server.url);
    const transport = (client as unknown as { transport: StreamableHTTPClientTransport }).transport;
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const after = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
    await client.close();
  });

  it('refuses a browser origin it does not allow (DNS rebinding), accepts this machine’s', async () => {
    const init = (origin: string): RequestInit => ({
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect((await fetch(`${server.url}/mcp`, init('http://evil.example.com'))).status).toBe(403);
    const local = await fetch(`${server.url}/mcp`, init('http://localhost:3000'));
    expect(local.status).toBe(200);
    await local.body?.cancel();
  });
});

describe('POST /mcp with SLUICE_API_KEYS', () => {
  let authed: TestServer;
  let authedApp: AppHandler;
  beforeAll(async () => {
    authedApp = createApp({ env: { SLUICE_API_KEYS: 'key-a,key-b' } });
    authed = await startServer(authedApp);
  });
  afterAll(async () => {
    await authedApp.shutdown({ drainMs: 0 });
    await authed.close();
  });

  it('answers 401 without a key, serves with one, and a session is its key’s alone', async () => {
    const unauthorized = await fetch(`${authed.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const client = await connect(authed.url, { authorization: 'Bearer key-a' });
    try {
      expect((await client.listTools()).tools.length).toBe(4);
      const sessionId = (client as unknown as { transport: StreamableHTTPClientTransport }).transport.sessionId!;
      const stolen = await fetch(`${authed.url}/mcp`, {
        method: 'POST',
        headers: { authorization: 'Bearer key-b', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      expect(stolen.status).toBe(404);
    } finally {
      await client.close();
    }
  });
});

/** The scenarios of `@modelcontextprotocol/conformance` that apply to sluice's `/mcp` (see docs/mcp.md). */
const APPLICABLE_SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-error',
  'tools-call-with-progress',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

describe('@modelcontextprotocol/conformance server scenarios', () => {
  it.each(APPLICABLE_SCENARIOS)('%s passes', async (scenario) => {
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [`${root}node_modules/@modelcontextprotocol/conformance/dist/index.js`, 'server', '--url', `${server.url}/mcp`, '--scenario', scenario],
        { cwd: root, timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error !== null && (error as { code?: unknown }).code === undefined) reject(error);
          else resolve(`${stdout}\n${stderr}`);
        },
      );
    });
    const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
    expect(summary, output).not.toBeNull();
    expect(Number(summary![3]), output).toBe(0);
    expect(Number(summary![1]), output).toBe(Number(summary![2]));
    expect(Number(summary![1]), output).toBeGreaterThan(0);
  }, 70_000);
});

// Security review: one shared pool of 1000 sessions, no per-key cap, idle sweep after 30 min: one
// key could open them all and lock every other key out of /mcp.
describe('POST /mcp sessions per key (SLUICE_LIMIT_MCP_SESSIONS)', () => {
  let limited: TestServer;
  let limitedApp: AppHandler;
  beforeAll(async () => {
    limitedApp = createApp({ env: { SLUICE_API_KEYS: 'key-a,key-b', SLUICE_LIMIT_MCP_SESSIONS: '2' } });
    limited = await startServer(limitedApp);
  });
  afterAll(async () => {
    await limitedApp.shutdown({ drainMs: 0 });
    await limited.close();
  });

  const headers = (key: string, sessionId?: string): Record<string, string> => ({
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }),
  });
  const initialize = (key: string): Promise<Response> =>
    fetch(`${limited.url}/mcp`, {
      method: 'POST',
      headers: headers(key),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });

  it('refuses a key past its cap with 429 rate_limited and Retry-After, while other keys still get in', async () => {
    const opened: string[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await initialize('key-a');
      expect(response.status).toBe(200);
      await response.text();
      opened.push(response.headers.get('mcp-session-id')!);
    }
    const refused = await initialize('key-a');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    const body = (await refused.json()) as { jsonrpc: string; id: null; error: { code: number; message: string; data: { code: string } } };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, data: { code: 'rate_limited' } } });
    expect(body.error.message).toContain('SLUICE_LIMIT_MCP_SESSIONS');

    const other = await initialize('key-b');
    expect(other.status).toBe(200);
    await other.text();

    // Ending a session frees its slot.
    const ended = await fetch(`${limited.url}/mcp`, { method: 'DELETE', headers: headers('key-a', opened[0]) });
    expect(ended.status).toBe(200);
    const again = await initialize('key-a');
    expect(again.status).toBe(200);
    await again.text();
  });
});

describe('POST /mcp sessions without keys, and the instance pool', () => {
  const initialize = (url: string): Promise<Response> =>
    fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });

  it('counts sessions per client address when auth is off', async () => {
    const open = createApp({ env: { SLUICE_LIMIT_MCP_SESSIONS: '1' } });
    const server = await startServer(open);
    try {
      const first = await initialize(server.url);
      expect(first.status).toBe(200);
      await first.text();
      const second = await initialize(server.url);
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('5');
      expect(((await second.json()) as { error: { message: string } }).error.message).toContain('this client address');
    } finally {
      await open.shutdown({ drainMs: 0 });
      await server.close();
    }
  });

  it('answers a full instance pool 503 with Retry-After', async () => {
    const routes = mcpRoutes({ tools: createBuiltinTools({ paceMs: 0 }), auth: createAuth([]), maxSessions: 1, maxSessionsPerOwner: 0 });
    const server = await startServer((req, res) => void routes.handle(req, res, {} as RouteContext));
    try {
      const first = await initialize(server.url);
      expect(first.status).toBe(200);
      await first.text();
      const full = await initialize(server.url);
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('5');
      expect(await full.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    } finally {
      await routes.close();
      await server.close();
    }
  });
});
