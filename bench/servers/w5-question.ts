/**
 * The question every W5 chat asks (bench/w5-agent-chats.bench.ts): the `local` model answers it
 * with 117 reasoning and 436 text deltas, about 11 s at 50 tokens/s.
 *
 * @module
 */
export const W5_QUESTION = 'Explain how sluice streams, resumes and stores an agent chat, in detail.';
