/**
 * An MCP server's tools as agent tools: named `<server>__<tool>` so they cannot collide with the
 * built-ins or each other, their JSON Schema offered as it is, their progress notifications
 * yielded as `progress` updates the moment they arrive, their result turned into the tool's output.
 *
 * @module
 */
import type { JsonSchema } from '../../providers/types.ts';
import { createEventChannel } from '../event-channel.ts';
import type { AnyAgentTool, ToolUpdate } from '../types.ts';
import type { McpCallToolResult, McpProgress, McpTool } from './mcp-types.ts';

/** The calls a tool makes on its server; what {@link toMcpAgentTools} needs (an MCP client connection). */
export interface McpToolCaller {
  readonly name: string;
  callTool(name: string, input: Record<string, unknown>, options: { signal: AbortSignal; onprogress: (progress: McpProgress) => void }): Promise<McpCallToolResult>;
}

/** What an approval decision may look at: the server and the tool as it listed itself. */
export interface McpToolInfo {
  server: string;
  tool: McpTool;
}

/** Between the server's name and the tool's in an agent tool's name. */
export const MCP_TOOL_NAME_SEPARATOR = '__';
/** Tool names as the OpenAI and Anthropic APIs accept them. */
const MAX_TOOL_NAME = 64;

/**
 * A tool needs approval by default when its annotations say it is destructive. Annotations are
 * hints from the server; one that says nothing is not treated as destructive here, though the
 * spec's default for `destructiveHint` is true, or every unannotated tool would wait for a person.
 * @see https://modelcontextprotocol.io/specification/2025-11-25/server/tools#tool-annotations
 */
export function isDestructive({ tool }: McpToolInfo): boolean {
  return tool.annotations?.destructiveHint === true && tool.annotations.readOnlyHint !== true;
}

/**
 * The agent tool name of an MCP tool: `<server>__<tool>`, every character outside `A-Za-z0-9_-`
 * replaced by `_`, cut to 64 characters, and numbered (`_2`, `_3`, …) when that name is taken.
 * @param server - the server's name
 * @param tool - the tool's name on its server
 * @param taken - names in use; the result is added
 * @returns the name
 */
export function toMcpToolName(server: string, tool: string, taken: Set<string>): string {
  const base = `${server}${MCP_TOOL_NAME_SEPARATOR}${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_TOOL_NAME);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base.slice(0, MAX_TOOL_NAME - String(n).length - 1)}_${n}`;
  taken.add(name);
  return name;
}

/**
 * An MCP progress notification as a sluice `progress` update. MCP's `total` is optional; without
 * one the work done so far is all that is known, so `total` is `done` (the client shows a count,
 * not a fraction).
 */
export function toProgressUpdate(progress: McpProgress): ToolUpdate {
  const done = Math.max(0, progress.progress);
  const total = typeof progress.total === 'number' && progress.total >= done ? progress.total : done;
  return { type: 'progress', done, total, ...(typeof progress.message === 'string' ? { message: progress.message } : {}) };
}

function textOf(result: McpCallToolResult): string | undefined {
  const content = result.content ?? [];
  if (content.length === 0 || content.some((part) => part.type !== 'text')) return undefined;
  return content.map((part) => String(part.text)).join('\n');
}

/**
 * A tool result as the tool's output: the structured content when the server gave one, else the
 * text when every part is text, else the content parts as they are (images stay base64 JSON).
 * @throws Error with the server's text when the result says `isError`
 */
export function toToolOutput(result: McpCallToolResult, toolName: string): unknown {
  if (result.isError === true) {
    throw new Error(`The MCP tool \`${toolName}\` failed: ${textOf(result) ?? JSON.stringify(result.content ?? [])}`);
  }
  if (result.structuredContent !== undefined) return result.structuredContent;
  return textOf(result) ?? result.content ?? null;
}

function toInputSchema(schema: McpTool['inputSchema']): JsonSchema {
  const { $schema: _drop, ...rest } = schema as Record<string, unknown>;
  return { type: 'object', ...rest };
}

/**
 * Agent tools for the tools of MCP servers.
 * @param servers - each server's caller and the tools it listed
 * @param options - which tools need approval (default: {@link isDestructive})
 * @returns the agent tools, in the servers' order
 */
export function toMcpAgentTools(
  servers: readonly { caller: McpToolCaller; tools: readonly McpTool[] }[],
  options: { needsApproval?: (tool: McpToolInfo) => boolean; taken?: Set<string> } = {},
): AnyAgentTool[] {
  const taken = options.taken ?? new Set<string>();
  const needsApproval = options.needsApproval ?? isDestructive;
  const result: AnyAgentTool[] = [];
  for (const { caller, tools } of servers) {
    for (const tool of tools) {
      const name = toMcpToolName(caller.name, tool.name, taken);
      const agentTool: AnyAgentTool = {
        name,
        description: tool.description ?? tool.title ?? `The tool \`${tool.name}\` of the MCP server "${caller.name}".`,
        inputSchema: toInputSchema(tool.inputSchema),
        parseInput(input: unknown) {
          if (input === undefined || input === null) return {};
          if (typeof input !== 'object' || Array.isArray(input)) throw new TypeError(`Invalid input for \`${name}\`: expected an object, got ${JSON.stringify(input)}.`);
          return input;
        },
        async *execute(input: Record<string, unknown>, { signal }) {
          const updates = createEventChannel<ToolUpdate>();
          const call = caller.callTool(tool.name, input, { signal, onprogress: (progress) => updates.push(toProgressUpdate(progress)) }).finally(() => updates.close());
          // Awaited below once the updates end; until then a rejection must not count as unhandled.
          call.catch(() => undefined);
          for await (const update of updates) yield update;
          return toToolOutput(await call, name);
        },
      };
      if (needsApproval({ server: caller.name, tool })) agentTool.needsApproval = true;
      result.push(agentTool);
    }
  }
  return result;
}
