/**
 * The MCP client's pure parts: `SLUICE_MCP_SERVERS` parsing, tool names that cannot collide,
 * approval by default for destructive tools, progress and results as sluice sees them, and the
 * demo model calling an MCP tool the question names.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { parseMcpServers } from '../src/agent/mcp/mcp-config.ts';
import type { McpToolCaller } from '../src/agent/mcp/mcp-client.ts';
import { toMcpAgentTools, toMcpToolName, toProgressUpdate, toToolOutput } from '../src/agent/mcp/mcp-tools.ts';
import { runTool } from '../src/agent/run-tool.ts';
import { createBuiltinTools } from '../src/agent/tools/builtin-tools.ts';
import type { AgentEvent } from '../src/protocol/types.ts';
import { planBuiltinCall } from '../src/providers/local/plan-builtin-call.ts';
import { planToolCall } from '../src/providers/local/plan-tool-call.ts';
import type { ChatRequest } from '../src/providers/types.ts';

describe('parseMcpServers', () => {
  it('reads stdio and Streamable HTTP servers by name, bare or under mcpServers', () => {
    const servers = { fs: { command: 'npx', args: ['-y', 'server-fs', '/tmp'], env: { A: '1' } }, remote: { url: 'http://127.0.0.1:9/mcp' } };
    expect(parseMcpServers(JSON.stringify(servers))).toEqual({ fs: servers.fs, remote: { url: 'http://127.0.0.1:9/mcp' } });
    expect(parseMcpServers(JSON.stringify({ mcpServers: servers }))).toEqual(parseMcpServers(JSON.stringify(servers)));
    expect(parseMcpServers(undefined)).toEqual({});
    expect(parseMcpServers('  ')).toEqual({});
  });

  it('says what is wrong with a bad value', () => {
    expect(() => parseMcpServers('{nope')).toThrow(/SLUICE_MCP_SERVERS to be JSON/);
    expect(() => parseMcpServers('{"a": {"args": []}}')).toThrow('Expected SLUICE_MCP_SERVERS.a to have a `command` (stdio) or a `url` (Streamable HTTP)');
    expect(() => parseMcpServers('{"a": {"url": "ftp://x"}}')).toThrow('Expected SLUICE_MCP_SERVERS.a.url to be an http(s) URL');
    expect(() => parseMcpServers('{"a": {"command": "x", "args": "y"}}')).toThrow('SLUICE_MCP_SERVERS.a.args to be an array of strings');
    expect(() => parseMcpServers('{"a b": {"command": "x"}}')).toThrow(/1-32 letters/);
  });
});

describe('toMcpToolName', () => {
  it('prefixes the server, replaces what tool names may not hold, cuts to 64 and numbers repeats', () => {
    const taken = new Set(['calculator']);
    expect(toMcpToolName('fs', 'read.file', taken)).toBe('fs__read_file');
    expect(toMcpToolName('fs', 'read file', taken)).toBe('fs__read_file_2');
    const long = toMcpToolName('s', 'x'.repeat(100), taken);
    expect(long).toHaveLength(64);
    expect(toMcpToolName('s', 'x'.repeat(100), taken)).toMatch(/^s__x+_2$/);
    expect([...taken].every((name) => /^[A-Za-z0-9_-]{1,64}$/.test(name))).toBe(true);
  });
});

function fakeServer(name: string, answer: McpToolCaller['callTool']): McpToolCaller {
  return { name, callTool: answer };
}

const listed = (name: string, annotations?: Tool['annotations']): Tool => ({ name, inputSchema: { type: 'object', properties: { q: { type: 'string' } } }, ...(annotations ? { annotations } : {}) });

describe('toMcpAgentTools', () => {
  it('a tool annotated destructive needs approval by default; read-only and unannotated ones do not', () => {
    const caller = fakeServer('s', async () => ({ content: [] }));
    const tools = toMcpAgentTools([{ caller, tools: [listed('drop', { destructiveHint: true }), listed('read', { readOnlyHint: true, destructiveHint: true }), listed('plain')] }]);
    expect(tools.map((t) => [t.name, t.needsApproval])).toEqual([
      ['s__drop', true],
      ['s__read', undefined],
      ['s__plain', undefined],
    ]);
    const always = toMcpAgentTools([{ caller, tools: [listed('plain')] }], { needsApproval: () => true });
    expect(always[0]!.needsApproval).toBe(true);
  });

  it('yields each progress notification as it arrives, then returns the result', async () => {
    const caller = fakeServer('s', async (name, input, { onprogress, signal }) => {
      expect([name, input, signal.aborted]).toEqual(['slow', { q: 'x' }, false]);
      for (const progress of [1, 2, 3]) {
        onprogress({ progress, total: 3, message: `step ${progress}` });
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return { content: [{ type: 'text', text: 'done' }] };
    });
    const [slow] = toMcpAgentTools([{ caller, tools: [listed('slow')] }]);
    const events: AgentEvent[] = [];
    const outcome = await runTool(slow!, { toolCallId: 'c1', input: { q: 'x' }, signal: undefined, timeoutMs: 5000, emit: (event) => events.push(event) });
    expect(outcome).toEqual({ ok: true, output: 'done' });
    expect(events).toEqual([1, 2, 3].map((done) => ({ type: 'progress', toolCallId: 'c1', done, total: 3, message: `step ${done}` })));
  });

  it('an aborted run aborts the call’s signal (the SDK then sends notifications/cancelled)', async () => {
    let seen: AbortSignal | undefined;
    const caller = fakeServer('s', (_name, _input, { signal }) => {
      seen = signal;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    });
    const [wait] = toMcpAgentTools([{ caller, tools: [listed('wait')] }]);
    const controller = new AbortController();
    const running = runTool(wait!, { toolCallId: 'c', input: {}, signal: controller.signal, timeoutMs: 5000, emit: () => undefined });
    await expect.poll(() => seen).toBeDefined();
    controller.abort(new Error('stopped'));
    await expect(running).rejects.toThrow('stopped');
    expect(seen!.aborted).toBe(true);
  });
});

describe('MCP results and progress', () => {
  it('a result is its structured content, else its text, else its parts; isError throws its text', () => {
    expect(toToolOutput({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, 't')).toBe('a\nb');
    expect(toToolOutput({ content: [{ type: 'text', text: '{}' }], structuredContent: { n: 1 } }, 't')).toEqual({ n: 1 });
    const image = { type: 'image' as const, data: 'AAAA', mimeType: 'image/png' };
    expect(toToolOutput({ content: [image] }, 't')).toEqual([image]);
    expect(() => toToolOutput({ content: [{ type: 'text', text: 'no such file' }], isError: true }, 'fs__read')).toThrow('The MCP tool `fs__read` failed: no such file');
  });

  it('progress without a total counts up with total = done', () => {
    expect(toProgressUpdate({ progress: 7 })).toEqual({ type: 'progress', done: 7, total: 7 });
    expect(toProgressUpdate({ progress: 2, total: 5, message: 'm' })).toEqual({ type: 'progress', done: 2, total: 5, message: 'm' });
  });
});

describe('the local demo model and MCP tools', () => {
  const mcpTool = { name: 'everything__get-sum', description: 'Returns the sum of two numbers.', inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } };
  const request = (question: string): ChatRequest => ({
    model: 'local',
    messages: [{ role: 'user', content: question }],
    tools: [...createBuiltinTools().map(({ name, description, inputSchema }) => ({ name, description, inputSchema })), mcpTool],
  });

  it('calls the MCP tool a question names exactly, even when it looks like arithmetic or a docs question', () => {
    for (const question of ['use everything__get-sum on 2+3', 'use everything__get-sum to explain backpressure']) {
      expect(planBuiltinCall(request(question), question)).toBeUndefined();
      expect(planToolCall(request(question), question)).toMatchObject({ tool: { name: 'everything__get-sum' }, reason: 'named' });
    }
  });

  it('still calls the built-ins when no MCP tool is named', () => {
    expect(planBuiltinCall(request('what is 2+3?'), 'what is 2+3?')).toMatchObject({ toolName: 'calculator' });
  });
});
