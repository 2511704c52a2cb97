/**
 * Full-text search over the bundled docs with MiniSearch (BM25), using the `Intl.Segmenter`
 * tokenizer so English and Chinese queries both find their documents.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { bundledDocs, type BundledDoc, type DocLanguage } from './bundled-docs.ts';
import { detectLanguage } from './read-conversation.ts';
import { truncate } from './summarize-tool-result.ts';
import { tokenizeForSearch } from './tokenize-for-search.ts';

const { default: MiniSearch } = await importOptional('minisearch', () => import('minisearch'));
type MiniSearch<T> = InstanceType<typeof MiniSearch<T>>;

/** One hit of {@link searchDocs}. */
export interface DocHit {
  doc: BundledDoc;
  /** BM25 score; only the order and the ratio between hits mean anything. */
  score: number;
  /** The doc's sentence that matches the query best. */
  snippet: string;
  /** The query terms the doc contains. */
  matchedTerms: string[];
}

/** Options of {@link searchDocs}. */
export interface SearchDocsOptions {
  /** Hits returned at most. @defaultValue 3 */
  limit?: number;
  /** Prefer docs in this language. @defaultValue the query's language */
  language?: DocLanguage;
  /** The docs to search. @defaultValue the bundled docs */
  docs?: readonly BundledDoc[];
}

/**
 * The most characters of a query that are searched: the `search_docs` tool takes 500, and the
 * model's own searches are cut the same way, so a megabyte of message is not a megabyte of search.
 */
export const MAX_QUERY_CHARS = 500;
/** The most distinct terms of a query that are searched (each one is a fuzzy walk of the index). */
export const MAX_QUERY_TERMS = 32;

/** A doc in the other language than the query's counts for this share of its score. */
const OTHER_LANGUAGE_WEIGHT = 0.5;
const MAX_SNIPPET = 240;

const indexes = new WeakMap<readonly BundledDoc[], MiniSearch<{ key: number; title: string; tags: string; text: string }>>();

function indexOf(docs: readonly BundledDoc[]): MiniSearch<{ key: number; title: string; tags: string; text: string }> {
  let index = indexes.get(docs);
  if (index === undefined) {
    index = new MiniSearch({
      idField: 'key',
      fields: ['title', 'tags', 'text'],
      tokenize: tokenizeForSearch,
      // The tokenizer already lower-cases, stems and drops stop words.
      processTerm: (term) => term,
      searchOptions: {
        boost: { title: 3, tags: 2 },
        // Typos in long English words only: short words and Chinese bigrams would match noise. No
        // word is longer than 32 letters; a longer "term" (a 200,000-character message of one
        // letter) made MiniSearch's fuzzy matrix fail to allocate (issue 16).
        fuzzy: (term) => (/^[a-z]{6,32}$/.test(term) ? 1 : false),
        weights: { fuzzy: 0.3, prefix: 0.3 },
      },
    });
    index.addAll(docs.map((doc, key) => ({ key, title: doc.title, tags: doc.tags.join(', '), text: doc.sentences.join('\n') })));
    indexes.set(docs, index);
  }
  return index;
}

/** The first sentence with the most query terms, else the first sentence. */
function snippetOf(doc: BundledDoc, terms: ReadonlySet<string>): string {
  let best = doc.sentences[0] ?? doc.title;
  let bestCount = 0;
  for (const sentence of doc.sentences) {
    const count = new Set(tokenizeForSearch(sentence).filter((term) => terms.has(term))).size;
    if (count > bestCount) {
      best = sentence;
      bestCount = count;
    }
  }
  return truncate(best, MAX_SNIPPET);
}

/**
 * The terms a query is searched for: those of its first {@link MAX_QUERY_CHARS} characters (cut
 * at a space), each once, at most {@link MAX_QUERY_TERMS} of them, in order of first appearance.
 * @param query - English or Chinese
 * @returns the distinct terms
 * @example
 * ```ts
 * searchTerms('sse sse streaming SSE'); // ['sse', 'stream']
 * ```
 */
export function searchTerms(query: string): string[] {
  let head = query;
  if (query.length > MAX_QUERY_CHARS) {
    head = query.slice(0, MAX_QUERY_CHARS);
    // Back to the last space, so the cut leaves no half word ("stream" from "streaming") to search.
    const space = head.search(/\s\S*$/u);
    if (space > MAX_QUERY_CHARS * 0.6) head = head.slice(0, space);
  }
  return [...new Set(tokenizeForSearch(head))].slice(0, MAX_QUERY_TERMS);
}

/**
 * Searches the docs for the query's {@link searchTerms}. Each topic appears once, in the query's
 * language when it matches there; docs in the other language count half (so "什么是 SSE？" finds
 * the Chinese page first).
 * @param query - English or Chinese
 * @param options - limit, language, docs
 * @returns the hits, best first; `[]` when nothing matches
 * @example
 * ```ts
 * searchDocs('什么是背压？')[0]?.doc.id; // 'backpressure'
 * ```
 */
export function searchDocs(query: string, options: SearchDocsOptions = {}): DocHit[] {
  const limit = options.limit ?? 3;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Expected \`limit\` to be an integer ≥ 1, got ${String(limit)}.`);
  const docs = options.docs ?? bundledDocs();
  const searched = searchTerms(query);
  if (searched.length === 0) return [];
  const language = options.language ?? detectLanguage(query.length > MAX_QUERY_CHARS ? query.slice(0, MAX_QUERY_CHARS) : query);
  const terms = new Set(searched);
  const best = new Map<string, DocHit>();
  // The terms are already made: MiniSearch searches each of them once, not every repeat in the query.
  for (const result of indexOf(docs).search(query, { tokenize: () => searched })) {
    const doc = docs[result.id as number] as BundledDoc;
    const score = doc.language === language ? result.score : result.score * OTHER_LANGUAGE_WEIGHT;
    const seen = best.get(doc.id);
    if (seen !== undefined && seen.score >= score) continue;
    best.set(doc.id, { doc, score, snippet: snippetOf(doc, terms), matchedTerms: result.queryTerms });
  }
  return [...best.values()].sort((a, b) => b.score - a.score || a.doc.id.localeCompare(b.doc.id)).slice(0, limit);
}
