/**
 * `SLUICE_MCP_SERVERS`: the MCP servers whose tools the agent offers, in the `mcpServers` shape MCP
 * clients already use (Claude Desktop, Cursor, VS Code): stdio commands and Streamable HTTP URLs, by
 * name. Parsing needs no MCP SDK.
 *
 * @module
 */

/** The environment variable naming the MCP servers. */
export const MCP_SERVERS_ENV = 'SLUICE_MCP_SERVERS';

/** An MCP server run as a child process, spoken to over its stdin and stdout. */
export interface McpStdioServerConfig {
  command: string;
  args?: string[];
  /** Added to the safe defaults the SDK passes on (`PATH`, `HOME`, …); the rest of sluice's environment is not. */
  env?: Record<string, string>;
  cwd?: string;
}

/** An MCP server reached over Streamable HTTP. */
export interface McpHttpServerConfig {
  url: string;
  /** Sent with every request (an `Authorization` header, say). */
  headers?: Record<string, string>;
}

/** One MCP server. */
export type McpServerConfig = McpStdioServerConfig | McpHttpServerConfig;

/** MCP servers by name. */
export type McpServersConfig = Record<string, McpServerConfig>;

/** Server names: they become the prefix of tool names, so they keep to the characters tool names allow. */
const SERVER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value) || Object.values(value).some((item) => typeof item !== 'string')) {
    throw new TypeError(`Expected ${where} to be an object of strings, got ${JSON.stringify(value)}.`);
  }
  return value as Record<string, string>;
}

function parseServer(name: string, value: unknown): McpServerConfig {
  const where = `${MCP_SERVERS_ENV}.${name}`;
  if (!isRecord(value)) throw new TypeError(`Expected ${where} to be an object with \`command\` or \`url\`, got ${JSON.stringify(value)}.`);
  if (typeof value.url === 'string') {
    let url: URL;
    try {
      url = new URL(value.url);
    } catch (error) {
      throw new TypeError(`Expected ${where}.url to be an http(s) URL, got ${JSON.stringify(value.url)}.`, { cause: error });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`Expected ${where}.url to be an http(s) URL, got ${JSON.stringify(value.url)}.`);
    const server: McpHttpServerConfig = { url: url.href };
    if (value.headers !== undefined) server.headers = stringRecord(value.headers, `${where}.headers`);
    return server;
  }
  if (typeof value.command === 'string' && value.command.trim() !== '') {
    const server: McpStdioServerConfig = { command: value.command };
    if (value.args !== undefined) {
      if (!Array.isArray(value.args) || value.args.some((arg) => typeof arg !== 'string')) {
        throw new TypeError(`Expected ${where}.args to be an array of strings, got ${JSON.stringify(value.args)}.`);
      }
      server.args = value.args as string[];
    }
    if (value.env !== undefined) server.env = stringRecord(value.env, `${where}.env`);
    if (typeof value.cwd === 'string') server.cwd = value.cwd;
    return server;
  }
  throw new TypeError(`Expected ${where} to have a \`command\` (stdio) or a \`url\` (Streamable HTTP), got ${JSON.stringify(value)}.`);
}

/**
 * Parses `SLUICE_MCP_SERVERS`: `{"<name>": {"command", "args"?, "env"?} | {"url", "headers"?}}`,
 * or the same object under `"mcpServers"` (a client config file's content as it is).
 * @param value - the variable's value (blank: no servers)
 * @returns the servers by name
 * @throws TypeError when it is not JSON of that shape, or a name is not 1-32 letters, digits, `_` or `-`
 * @example
 * ```ts
 * parseMcpServers('{"everything": {"command": "npx", "args": ["@modelcontextprotocol/server-everything"]}}');
 * ```
 */
export function parseMcpServers(value: string | undefined): McpServersConfig {
  const text = value?.trim() ?? '';
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`Expected ${MCP_SERVERS_ENV} to be JSON like {"name": {"command": "…", "args": […]}} or {"name": {"url": "http…"}}: ${(error as Error).message}.`, { cause: error });
  }
  if (isRecord(parsed) && isRecord(parsed.mcpServers)) parsed = parsed.mcpServers;
  if (!isRecord(parsed)) throw new TypeError(`Expected ${MCP_SERVERS_ENV} to be a JSON object of servers by name, got ${JSON.stringify(parsed)}.`);
  const servers: McpServersConfig = {};
  for (const [name, server] of Object.entries(parsed)) {
    if (!SERVER_NAME.test(name)) throw new TypeError(`Expected each ${MCP_SERVERS_ENV} name to be 1-32 letters, digits, \`_\` or \`-\`, got ${JSON.stringify(name)}.`);
    servers[name] = parseServer(name, server);
  }
  return servers;
}
