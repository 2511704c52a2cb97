/**
 * sluice: streaming responses for AI agents. The root entry re-exports the runtime-neutral layers
 * (core, sse, protocol); the Node fast path is `sluice/node`.
 *
 * @module
 */
export * from './core/index.ts';
export * from './sse/index.ts';
export * from './protocol/index.ts';
