/**
 * The shapes of the MCP values sluice's public types name — a tool as a server lists it, a progress
 * notification, a tool result, the server {@link createMcpToolServer} returns — written out here
 * instead of imported from `@modelcontextprotocol/sdk`, so that `sluice/agent`'s declarations
 * type-check (without `skipLibCheck`) in a project that does not install the optional MCP SDK. The
 * SDK's own types are assignable to them.
 *
 * @module
 */

/** A tool as an MCP server lists it (`tools/list`); the SDK's `Tool`. */
export interface McpTool {
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  /** The tool's input as a JSON Schema object. */
  inputSchema: { type: 'object'; properties?: Record<string, unknown> | undefined; required?: string[] | undefined; [key: string]: unknown };
  /** Hints from the server (MCP's tool annotations). */
  annotations?:
    | { title?: string | undefined; readOnlyHint?: boolean | undefined; destructiveHint?: boolean | undefined; idempotentHint?: boolean | undefined; openWorldHint?: boolean | undefined; [key: string]: unknown }
    | undefined;
  [key: string]: unknown;
}

/** A progress notification's values (`notifications/progress`); the SDK's `Progress`. */
export interface McpProgress {
  progress: number;
  total?: number | undefined;
  message?: string | undefined;
  [key: string]: unknown;
}

/** One part of a tool result's content (text, an image, a resource…). */
export interface McpContentPart {
  type: string;
  [key: string]: unknown;
}

/** A tool call's result (`tools/call`); the SDK's `CallToolResult`. */
export interface McpCallToolResult {
  content?: McpContentPart[] | undefined;
  structuredContent?: Record<string, unknown> | undefined;
  isError?: boolean | undefined;
  [key: string]: unknown;
}

/**
 * The server {@link createMcpToolServer} returns: the SDK's `Server` (from
 * `@modelcontextprotocol/sdk/server/index.js`), typed by what it is used for here. Cast it to the
 * SDK's `Server` for the rest of its API.
 */
export interface McpToolServer {
  /** Serves one session over a transport (e.g. the SDK's `StdioServerTransport` or `StreamableHTTPServerTransport`). */
  connect(transport: unknown): Promise<void>;
  /** Ends the session. */
  close(): Promise<void>;
}
