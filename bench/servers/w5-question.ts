/**
 * The question every W5 chat asks (bench/w5-agent-chats.bench.ts): the `local` model answers it
 * with 31 reasoning and 357 text deltas (about 8 s at 50 tokens/s) and, with the server's tools offered, calls none: one model step in every server.
 *
 * @module
 */
export const W5_QUESTION = 'Tell me a story.';
