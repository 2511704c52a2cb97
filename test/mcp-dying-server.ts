/**
 * A stdio MCP server for the tests: `pid` answers its process id, `die` exits the process in the
 * middle of the call (a server that crashes).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'dying', version: '1.0.0' });
server.registerTool('pid', { description: 'Answers the process id.' }, () => ({ content: [{ type: 'text', text: String(process.pid) }] }));
server.registerTool('die', { description: 'Exits the process mid-call.' }, () => process.exit(1));
await server.connect(new StdioServerTransport());
