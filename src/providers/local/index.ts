/**
 * The `local` demo model: sluice's built-in, keyless, offline model that answers from its own
 * knowledge base at a realistic pace.
 *
 * @module
 */
export { createLocalProvider, localProvider, LOCAL_MODEL_NAME } from './local-language-model.ts';
export type { LocalProviderOptions } from './local-language-model.ts';
export { DEFAULT_TTFT_MS, DEFAULT_TOKENS_PER_SECOND, TTFT_ENV, TPS_ENV } from './local-pacing.ts';
export type { LocalEnv } from './local-pacing.ts';
export { DEMO_NOTICE } from './compose-reply.ts';
export { KNOWLEDGE_BASE } from './knowledge-base.ts';
export type { KnowledgeEntry } from './knowledge-base.ts';
export { searchKnowledgeBase } from './search-knowledge-base.ts';
export type { KnowledgeHit, SearchKnowledgeBaseOptions } from './search-knowledge-base.ts';
