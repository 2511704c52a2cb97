/**
 * The agent layer: the loop that runs tools while the model talks, and the built-in tools.
 *
 * @module
 */
export { runAgent, DEFAULT_MAX_STEPS, DEFAULT_TOOL_TIMEOUT_MS, MAX_STEPS_ENV } from './run-agent.ts';
export type { RunAgentOptions } from './run-agent.ts';
export { tool } from './tool.ts';
export type { ToolOptions } from './tool.ts';
export { AGENT_ERROR_CODES, AgentError } from './errors.ts';
export type { AgentErrorCode } from './errors.ts';
export type * from './types.ts';
export { createBuiltinTools, builtinTools } from './tools/builtin-tools.ts';
export type { BuiltinToolsOptions } from './tools/builtin-tools.ts';
export { createSearchDocsTool } from './tools/search-docs-tool.ts';
export type { SearchDocsHit, SearchDocsOutput, SearchDocsToolOptions } from './tools/search-docs-tool.ts';
export { createCalculatorTool } from './tools/calculator.ts';
export type { CalculatorOutput } from './tools/calculator.ts';
export { evaluateExpression, formatRational, ExpressionError } from './tools/evaluate-expression.ts';
export type { Rational } from './tools/evaluate-expression.ts';
export { createAnalyzeDataTool, BUNDLED_DATA_DIR, DATASETS } from './tools/analyze-data.ts';
export type { AnalyzeDataOutput, AnalyzeDataToolOptions, DatasetName, GroupTotal } from './tools/analyze-data.ts';
export { createPublishEventTool } from './tools/publish-event.ts';
export type { PublishEventInput, PublishEventToolOptions } from './tools/publish-event.ts';
export { deniedOutput, NO_APPROVER_REASON } from './approval.ts';
export { createGenerateReportTool } from './tools/generate-report.ts';
export type { GenerateReportOutput, GenerateReportToolOptions, ReportSection } from './tools/generate-report.ts';
export { parseMcpServers, MCP_SERVERS_ENV } from './mcp/mcp-config.ts';
export type { McpHttpServerConfig, McpServerConfig, McpServersConfig, McpStdioServerConfig } from './mcp/mcp-config.ts';
export { connectMcpServers, DEFAULT_MCP_CALL_TIMEOUT_MS, DEFAULT_MCP_CONNECT_TIMEOUT_MS } from './mcp/mcp-client.ts';
export type { ConnectMcpServersOptions, McpConnection, McpServerStatus, McpToolCaller } from './mcp/mcp-client.ts';
export { isDestructive, toMcpAgentTools, toMcpToolName, MCP_TOOL_NAME_SEPARATOR } from './mcp/mcp-tools.ts';
export type { McpToolInfo } from './mcp/mcp-tools.ts';
export type { McpCallToolResult, McpContentPart, McpProgress, McpTool, McpToolServer } from './mcp/mcp-types.ts';
export { createMcpToolServer } from './mcp/create-mcp-tool-server.ts';
export type { McpToolServerOptions } from './mcp/create-mcp-tool-server.ts';
