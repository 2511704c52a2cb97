/**
 * The `search_docs` tool: full-text search over the bundled docs, each hit streamed as a `source`.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import type { BundledDoc } from '../../providers/local/bundled-docs.ts';
import { searchDocs } from '../../providers/local/search-docs.ts';
import { tool } from '../tool.ts';
import type { AgentTool } from '../types.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** One hit in the result of `search_docs`. */
export interface SearchDocsHit {
  /** `<language>/<topic>`, as in the `source` event: `en/backpressure`. */
  id: string;
  title: string;
  snippet: string;
  score: number;
  /** The file in the package: `knowledge/en/backpressure.md`. */
  path: string;
}

/** What `search_docs` returns. */
export interface SearchDocsOutput {
  query: string;
  hits: SearchDocsHit[];
}

/** Options of {@link createSearchDocsTool}. */
export interface SearchDocsToolOptions {
  /** The docs to search. @defaultValue the bundled docs (`knowledge/`) */
  docs?: readonly BundledDoc[];
}

const round = (score: number): number => Math.round(score * 1000) / 1000;

/**
 * Creates the `search_docs` tool: `{query, limit?}` (limit 1-10, default 5) over a MiniSearch
 * index of the docs, English and Chinese. Yields a `source` per hit, best first; returns the hits.
 * @param options - the docs
 * @returns the tool
 */
export function createSearchDocsTool(options: SearchDocsToolOptions = {}): AgentTool<{ query: string; limit?: number | undefined }, SearchDocsOutput> {
  return tool({
    name: 'search_docs',
    // Idempotent: it reads the bundled docs index; a run taken over runs it again.
    idempotent: true,
    description: "Searches sluice's documentation (English and Chinese) and returns the best matching passages with their titles.",
    input: z.object({
      query: z.string().min(1).max(500).describe('What to look for, in English or Chinese.'),
      limit: z.number().int().min(1).max(10).optional().describe('How many hits at most (default 5).'),
    }),
    async *execute({ query, limit }) {
      const hits: SearchDocsHit[] = [];
      for (const hit of searchDocs(query, { limit: limit ?? 5, ...(options.docs === undefined ? {} : { docs: options.docs }) })) {
        const found = { id: `${hit.doc.language}/${hit.doc.id}`, title: hit.doc.title, snippet: hit.snippet, score: round(hit.score), path: hit.doc.path };
        hits.push(found);
        yield { type: 'source', id: found.id, title: found.title, snippet: found.snippet, score: found.score };
      }
      return { query, hits };
    },
  });
}
