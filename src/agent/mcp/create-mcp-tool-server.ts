/**
 * Agent tools served over MCP: an MCP server (the official SDK's) whose `tools/list` offers them
 * and whose `tools/call` runs them the way the agent loop does, with each `progress` they report
 * sent as `notifications/progress` the moment it happens, and the request's cancellation reaching
 * the tool's signal. The SDK is imported when the server is created.
 *
 * @module
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULT_TOOL_TIMEOUT_MS } from '../run-agent.ts';
import { runTool } from '../run-tool.ts';
import type { AnyAgentTool } from '../types.ts';
import type { McpToolServer } from './mcp-types.ts';
import { importOptional } from '../../core/require-optional.ts';

/** Options of {@link createMcpToolServer}. */
export interface McpToolServerOptions {
  /** The server's name in `initialize`. @defaultValue `'sluice'` */
  name?: string;
  /** @defaultValue `'0.1.0'` */
  version?: string;
  /** A call is aborted and fails after this long. @defaultValue 30000 */
  toolTimeoutMs?: number;
}

/**
 * How a tool lists itself. A tool that needs approval in sluice is marked destructive, so an MCP
 * host asks its user before calling it (sluice's own approval flow is a chat stream's, which an
 * MCP call does not have).
 */
function toMcpTool(tool: AnyAgentTool): Tool {
  const listed: Tool = { name: tool.name, description: tool.description, inputSchema: { ...tool.inputSchema, type: 'object' } };
  if (tool.needsApproval !== undefined && tool.needsApproval !== false) listed.annotations = { destructiveHint: true, readOnlyHint: false };
  return listed;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Creates an MCP server offering `tools`. Connect it to a transport (`server.connect(transport)`);
 * one server serves one session.
 *
 * A call's result is its output as text (JSON unless it is a string), plus `structuredContent`
 * when the output is an object; a tool that fails, times out or gets invalid input answers
 * `isError: true` with the message. A name nobody offers is a JSON-RPC `-32602` error.
 * `source` and `data` updates are not sent (MCP has no notification for them); the output keeps
 * what they showed.
 * @param tools - the tools to serve
 * @param options - name, version, timeout
 * @returns the server, not yet connected
 * @example
 * ```ts
 * const server = await createMcpToolServer(createBuiltinTools());
 * await server.connect(new StdioServerTransport());
 * ```
 */
export async function createMcpToolServer(tools: readonly AnyAgentTool[], options: McpToolServerOptions = {}): Promise<McpToolServer> {
  const toolTimeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  if (!(toolTimeoutMs > 0)) throw new RangeError(`Expected \`toolTimeoutMs\` to be a number > 0, got ${String(toolTimeoutMs)}.`);
  const [{ Server }, { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError }] = await Promise.all([
    importOptional('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/server/index.js')),
    importOptional('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/types.js')),
  ]);
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const server = new Server({ name: options.name ?? 'sluice', version: options.version ?? '0.1.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...byName.values()].map(toMcpTool) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (tool === undefined) {
      const offered = [...byName.keys()].map((name) => `\`${name}\``).join(', ') || 'none';
      throw new McpError(ErrorCode.InvalidParams, `There is no tool named \`${request.params.name}\`. Offered: ${offered}.`);
    }
    const progressToken = request.params._meta?.progressToken;
    // Notifications go out in order, each as soon as the one before it was written; the result
    // waits for them, so every progress reaches the client before it.
    let sent: Promise<void> = Promise.resolve();
    const outcome = await runTool(tool, {
      toolCallId: `mcp-${String(extra.requestId)}`,
      input: request.params.arguments ?? {},
      signal: extra.signal,
      timeoutMs: toolTimeoutMs,
      emit(event) {
        if (event.type !== 'progress' || progressToken === undefined) return;
        const params = { progressToken, progress: event.done, total: event.total, ...(event.message === undefined ? {} : { message: event.message }) };
        sent = sent.then(() => extra.sendNotification({ method: 'notifications/progress', params })).catch(() => undefined);
      },
    });
    await sent;
    if (!outcome.ok) return { content: [{ type: 'text', text: outcome.message }], isError: true };
    const text = typeof outcome.output === 'string' ? outcome.output : JSON.stringify(outcome.output);
    return { content: [{ type: 'text', text }], ...(isPlainObject(outcome.output) ? { structuredContent: outcome.output } : {}) };
  });
  return server;
}
