/**
 * sluice: streaming responses for AI agents. The root entry is light: it re-exports the
 * runtime-neutral core (sources to bytes, formats, errors) and the dependency-free SSE layer.
 * The agent protocol and its codecs (which load zod) are `sluice/protocol`; the Node path
 * (`sendStream` onto `res`) is `sluice/node`; providers, replay and server have subpaths of their own.
 *
 * @module
 */
export * from './core/index.ts';
export * from './sse/index.ts';
