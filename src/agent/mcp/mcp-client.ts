/**
 * Connects to the MCP servers of `SLUICE_MCP_SERVERS` with the official SDK and turns their tools
 * into agent tools. The SDK is imported when the first server connects, never by merely importing
 * the agent layer.
 *
 * @module
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AnyAgentTool } from '../types.ts';
import type { McpServerConfig, McpServersConfig } from './mcp-config.ts';
import { toMcpAgentTools, type McpToolCaller, type McpToolInfo } from './mcp-tools.ts';

export type { McpToolCaller } from './mcp-tools.ts';
import { importOptional } from '../../core/require-optional.ts';

/** Milliseconds a server may take to connect and list its tools. */
export const DEFAULT_MCP_CONNECT_TIMEOUT_MS = 10_000;
/** Milliseconds a tool call may go without an answer or a progress notification. */
export const DEFAULT_MCP_CALL_TIMEOUT_MS = 60_000;

/** Options of {@link connectMcpServers}. */
export interface ConnectMcpServersOptions {
  /** @defaultValue 10000 */
  connectTimeoutMs?: number;
  /**
   * A call fails when the server sends neither its result nor a progress notification for this
   * long (each notification restarts the clock; the agent's tool timeout bounds the whole call).
   * @defaultValue 60000
   */
  callTimeoutMs?: number;
  /** What becomes of a stdio server's stderr. @defaultValue `'inherit'` (the server's log joins sluice's) */
  stderr?: 'inherit' | 'ignore';
  /**
   * Whether a tool needs approval before it runs.
   * @defaultValue tools whose annotations say they are destructive (`destructiveHint: true`, not `readOnlyHint`)
   */
  needsApproval?: (tool: McpToolInfo) => boolean;
  /** Aborts connecting. */
  signal?: AbortSignal;
}

/** How one server's connection went. */
export interface McpServerStatus {
  name: string;
  transport: 'stdio' | 'http';
  /** How many tools it offers (0 when it is unreachable). */
  toolCount: number;
  /** Why it could not be used, when it could not. */
  error?: string;
}

/** The MCP servers, connected. */
export interface McpConnection {
  /** Every reachable server's tools, named `<server>__<tool>`. */
  readonly tools: readonly AnyAgentTool[];
  readonly servers: readonly McpServerStatus[];
  /** One line for the startup log: each server with its tool count, or why it is unreachable. */
  describe(): string;
  /** Closes every connection (stdio servers are stopped). */
  close(): Promise<void>;
}

/** An error's message without its final period, to go inside a sentence of ours. */
function messageOf(error: unknown): string {
  const text = error instanceof Error ? (error.message === '' ? error.name : error.message) : String(error);
  return text.replace(/\.$/, '');
}

function withTimeout(ms: number, signal: AbortSignal | undefined, what: () => string): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  // The timeout's own reason says nothing about which server was slow.
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(timeout.aborted && !signal?.aborted ? new DOMException(what(), 'TimeoutError') : combined.reason);
  if (combined.aborted) onAbort();
  else combined.addEventListener('abort', onAbort, { once: true });
  return controller.signal;
}

/** One server: connected on first use and again after its connection closed (a stdio server that died). */
class McpServerClient implements McpToolCaller {
  private connection: Promise<Client> | undefined;
  /** The client `connection` resolved to, once it did. */
  private connected: Client | undefined;
  readonly name: string;
  private readonly config: McpServerConfig;
  private readonly options: Required<Pick<ConnectMcpServersOptions, 'connectTimeoutMs' | 'callTimeoutMs' | 'stderr'>>;

  constructor(name: string, config: McpServerConfig, options: Required<Pick<ConnectMcpServersOptions, 'connectTimeoutMs' | 'callTimeoutMs' | 'stderr'>>) {
    this.name = name;
    this.config = config;
    this.options = options;
  }

  get transport(): 'stdio' | 'http' {
    return 'url' in this.config ? 'http' : 'stdio';
  }

  private where(): string {
    return 'url' in this.config ? this.config.url : [this.config.command, ...(this.config.args ?? [])].join(' ');
  }

  /** The connected client, connecting when there is none. */
  client(signal?: AbortSignal): Promise<Client> {
    this.connection ??= this.connect(signal);
    return this.connection;
  }

  private async connect(signal: AbortSignal | undefined): Promise<Client> {
    const { Client } = await importOptional('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/client/index.js'));
    const client = new Client({ name: 'sluice', version: '0.1.0' });
    const transport =
      'url' in this.config
        ? new (await importOptional('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/client/streamableHttp.js'))).StreamableHTTPClientTransport(new URL(this.config.url), {
            ...(this.config.headers === undefined ? {} : { requestInit: { headers: this.config.headers } }),
          })
        : await this.stdioTransport(this.config);
    // A connection that closes (a stdio server that exited) is made again on the next call; a
    // newer connection made meanwhile is left alone.
    client.onclose = () => this.forget(client);
    const connectSignal = withTimeout(this.options.connectTimeoutMs, signal, () => `it did not answer within ${this.options.connectTimeoutMs} ms`);
    try {
      await client.connect(transport, { signal: connectSignal, timeout: this.options.connectTimeoutMs });
      this.connected = client;
      return client;
    } catch (error) {
      this.connection = undefined;
      await client.close().catch(() => undefined);
      const reason = connectSignal.aborted ? messageOf(connectSignal.reason) : messageOf(error);
      throw new Error(`The MCP server "${this.name}" (${this.where()}) is unreachable: ${reason}.`, { cause: error });
    }
  }

  private forget(client: Client): void {
    if (this.connected !== client) return;
    this.connected = undefined;
    this.connection = undefined;
  }

  private async stdioTransport(config: Extract<McpServerConfig, { command: string }>) {
    const { StdioClientTransport, getDefaultEnvironment } = await importOptional('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/client/stdio.js'));
    return new StdioClientTransport({
      command: config.command,
      args: config.args ?? [],
      env: { ...getDefaultEnvironment(), ...config.env },
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      stderr: this.options.stderr,
    });
  }

  /** Every tool the server lists, page by page. */
  async listTools(signal?: AbortSignal): Promise<Tool[]> {
    const client = await this.client(signal);
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: this.options.connectTimeoutMs, ...(signal ? { signal } : {}) });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  }

  async callTool(name: string, input: Record<string, unknown>, options: { signal: AbortSignal; onprogress: (progress: Progress) => void }): Promise<CallToolResult> {
    const call = async (client: Client): Promise<CallToolResult> =>
      // With `onprogress` the SDK sends a progress token; with `signal` an abort sends
      // `notifications/cancelled` for the request.
      // @see https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/cancellation
      (await client.callTool({ name, arguments: input }, undefined, {
        signal: options.signal,
        onprogress: options.onprogress,
        timeout: this.options.callTimeoutMs,
        resetTimeoutOnProgress: true,
      })) as CallToolResult;
    const client = await this.client(options.signal);
    try {
      try {
        return await call(client);
      } catch (error) {
        // An HTTP server that no longer knows the session (it restarted, or expired it) answers
        // 404, and the client must initialize a new one; the call is sent again on it, once.
        // @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management
        if (this.transport !== 'http' || (error as { code?: unknown }).code !== 404 || options.signal.aborted) throw error;
        this.forget(client);
        await client.close().catch(() => undefined);
        return await call(await this.client(options.signal));
      }
    } catch (error) {
      if (options.signal.aborted) throw error;
      const code = (error as { code?: unknown }).code;
      // -32001 is the SDK's RequestTimeout, -32000 its ConnectionClosed.
      if (code === -32001) throw new Error(`The MCP server "${this.name}" did not answer \`${name}\` within ${this.options.callTimeoutMs} ms.`, { cause: error });
      if (code === -32000) throw new Error(`The MCP server "${this.name}" closed the connection during \`${name}\`: ${messageOf(error)}.`, { cause: error });
      throw new Error(`The MCP server "${this.name}" failed \`${name}\`: ${messageOf(error)}.`, { cause: error });
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.connected = undefined;
    const client = await connection?.catch(() => undefined);
    await client?.close();
  }
}

/**
 * Connects to MCP servers (in parallel, each within `connectTimeoutMs`) and lists their tools. A
 * server that cannot be reached is reported in `servers` and `describe()`, not thrown: the others
 * still serve. A call on a server whose connection closed since (a stdio server that died)
 * connects again; one that still fails is that call's `tool-error`.
 * @param config - servers by name (see `parseMcpServers`)
 * @param options - timeouts, stderr, approval
 * @returns the connection with the tools
 * @example
 * ```ts
 * const mcp = await connectMcpServers(parseMcpServers(process.env.SLUICE_MCP_SERVERS));
 * runAgent({ provider, model, messages, tools: [...createBuiltinTools(), ...mcp.tools] });
 * ```
 */
export async function connectMcpServers(config: McpServersConfig, options: ConnectMcpServersOptions = {}): Promise<McpConnection> {
  const settings = {
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_MCP_CONNECT_TIMEOUT_MS,
    callTimeoutMs: options.callTimeoutMs ?? DEFAULT_MCP_CALL_TIMEOUT_MS,
    stderr: options.stderr ?? 'inherit',
  };
  for (const [key, value] of Object.entries({ connectTimeoutMs: settings.connectTimeoutMs, callTimeoutMs: settings.callTimeoutMs })) {
    if (!(value > 0)) throw new RangeError(`Expected \`${key}\` to be a number > 0, got ${String(value)}.`);
  }
  const clients = Object.entries(config).map(([name, server]) => new McpServerClient(name, server, settings));
  const listed = await Promise.all(
    clients.map(async (client) => {
      try {
        return { client, tools: await client.listTools(options.signal) };
      } catch (error) {
        await client.close().catch(() => undefined);
        return { client, tools: [] as Tool[], error: messageOf(error) };
      }
    }),
  );
  const tools = toMcpAgentTools(
    listed.map(({ client, tools: serverTools }) => ({ caller: client, tools: serverTools })),
    options.needsApproval === undefined ? {} : { needsApproval: options.needsApproval },
  );
  const servers: McpServerStatus[] = listed.map(({ client, tools: serverTools, error }) => ({
    name: client.name,
    transport: client.transport,
    toolCount: serverTools.length,
    ...(error === undefined ? {} : { error }),
  }));
  return {
    tools,
    servers,
    describe() {
      if (servers.length === 0) return 'MCP: no servers (set SLUICE_MCP_SERVERS={"name":{"command":"…","args":[…]}} or {"name":{"url":"http…"}} to offer their tools)';
      const parts = servers.map((server) =>
        server.error === undefined ? `${server.name} (${server.transport}, ${server.toolCount} tool${server.toolCount === 1 ? '' : 's'})` : `${server.name} (${server.transport}, unreachable: ${server.error})`,
      );
      return `MCP: ${parts.join(', ')}`;
    },
    async close() {
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    },
  };
}
