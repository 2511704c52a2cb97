/**
 * The `local` demo model: sluice's built-in, keyless, offline model that answers from the bundled
 * docs and calls the built-in tools, at a realistic pace.
 *
 * @module
 */
export { createLocalProvider, localProvider, LOCAL_MODEL_NAME } from './local-language-model.ts';
export type { LocalProviderOptions } from './local-language-model.ts';
export { DEFAULT_TTFT_MS, DEFAULT_TOKENS_PER_SECOND, TTFT_ENV, TPS_ENV } from './local-pacing.ts';
export type { LocalEnv } from './local-pacing.ts';
export { DEMO_NOTICE } from './compose-reply.ts';
export { BUNDLED_DOCS_DIR, bundledDocs, parseDoc, readBundledDocs } from './bundled-docs.ts';
export type { BundledDoc, DocLanguage } from './bundled-docs.ts';
export { searchDocs } from './search-docs.ts';
export type { DocHit, SearchDocsOptions } from './search-docs.ts';
export { tokenizeForSearch } from './tokenize-for-search.ts';
export { findExpression } from './plan-builtin-call.ts';
