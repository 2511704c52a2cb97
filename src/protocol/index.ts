/**
 * The protocol layer: the AgentEvent union, its runtime schema, its wire codecs (native SSE,
 * AI SDK UI message stream, AG-UI, OpenAI chunks, plain text, NDJSON) and linear-time rebuilding.
 *
 * @module
 */
export { AGENT_EVENT_TYPES, TERMINAL_EVENT_TYPES, isTerminalEvent } from './types.ts';
export type * from './types.ts';
export { agentEventSchema, usageSchema, finishReasonSchema, parseAgentEvent, AgentEventParseError } from './schema.ts';
export type { AbortableAgentFormat, AgentFormat, AgentItem, LoggedEvent } from './agent-format.ts';
export { agentSse } from './agent-sse.ts';
export { agentNdjson, NDJSON_CONTENT_TYPE } from './agent-ndjson.ts';
export { agentText, TEXT_CONTENT_TYPE } from './agent-text.ts';
export { negotiateAgentFormat, pickAgentFormat } from './negotiate-agent-format.ts';
export type { AgentFormatName } from './negotiate-agent-format.ts';
export { aiSdkUiStream, AI_SDK_UI_STREAM_HEADERS, AI_SDK_DONE } from './ai-sdk-ui-stream.ts';
export type { AiSdkUiStreamOptions } from './ai-sdk-ui-stream.ts';
export { agUi, AG_UI_CUSTOM_EVENTS } from './ag-ui.ts';
export type { AgUiOptions } from './ag-ui.ts';
export { openaiChunks, toOpenAiFinishReason, toOpenAiUsage, OPENAI_DONE } from './openai-chunks.ts';
export type { OpenAiChunksOptions, OpenAiFinishReason } from './openai-chunks.ts';
export { toChatCompletion } from './to-chat-completion.ts';
export { PROTOCOL_ERROR_CODES } from './errors.ts';
export type { ProtocolErrorCode } from './errors.ts';
export type { ChatCompletion, ChatCompletionOptions } from './to-chat-completion.ts';
export { createMessageAccumulator, accumulateAgentEvents } from './message-accumulator.ts';
export type { AccumulatedMessage, AccumulatedToolCall, MessageAccumulator } from './message-accumulator.ts';
export { createPartialJsonParser, parsePartialJson, PartialJsonError } from './partial-json-parser.ts';
export type { PartialJsonParser } from './partial-json-parser.ts';
