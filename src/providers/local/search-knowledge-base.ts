/**
 * Deterministic retrieval over the local model's knowledge base: BM25 over title, tags and text,
 * English words lightly stemmed, Chinese, Japanese and Korean as character bigrams. Small on
 * purpose; the RAG tool gets a real search index later.
 *
 * @module
 */
import type { KnowledgeEntry } from './knowledge-base.ts';

/** One hit of {@link searchKnowledgeBase}. */
export interface KnowledgeHit {
  entry: KnowledgeEntry;
  /** BM25 score; only the order and the ratio between hits mean anything. */
  score: number;
  /** The query terms the entry contains, in query order. */
  matchedTerms: string[];
}

/** Options of {@link searchKnowledgeBase}. */
export interface SearchKnowledgeBaseOptions {
  /** Hits returned at most. @defaultValue 3 */
  limit?: number;
  /** Hits scoring below this are dropped. @defaultValue 1 */
  minScore?: number;
}

const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can could did do does doing for from had has have how i if in into is it its ' +
    'me my of on or our please should so tell than that the their them then there these they this to us was ' +
    'we were what when where which who why will with would you your explain about describe mean means meaning ' +
    'work works need needs happen happens get got want show know difference between vs versus'
  ).split(' '),
);
const STOP_CJK = new Set(['什么', '么是', '是什', '怎么', '如何', '为什', '一下', '请问', '可以', '的', '是', '了', '吗', '呢', '和', '在', '与', '及', '我', '你']);

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u{30FC}]+/u;
const TERM_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u{30FC}]+|[\p{L}\p{N}]+/gu;

/** Light English stemming so that "streaming", "streams" and "stream" meet; both sides go through it. */
function stem(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  else return w;
  // "cancelled" → "cancell" → "cancel", "running" → "runn" → "run"
  const last = w.at(-1);
  if (w.length > 3 && last === w.at(-2) && last !== 's' && /[b-df-hj-np-tv-z]/.test(last ?? '')) w = w.slice(0, -1);
  return w;
}

/**
 * The search terms of `text`: lower-cased, stemmed words of two or more letters without stop words, and
 * overlapping character bigrams of every Chinese, Japanese or Korean run (a run of one character
 * is kept as it is).
 * @param text - a query or a document field
 * @returns the terms, with repeats, in order
 */
export function tokenizeForSearch(text: string): string[] {
  const terms: string[] = [];
  for (const [run] of text.toLowerCase().matchAll(TERM_RUN)) {
    if (CJK.test(run)) {
      const chars = Array.from(run);
      if (chars.length === 1) {
        if (!STOP_CJK.has(run)) terms.push(run);
        continue;
      }
      for (let i = 0; i + 1 < chars.length; i++) {
        const bigram = `${chars[i] ?? ''}${chars[i + 1] ?? ''}`;
        if (!STOP_CJK.has(bigram)) terms.push(bigram);
      }
    } else if (run.length > 1 && !STOP_WORDS.has(run)) {
      // Single letters are dropped: "what's" and "source’s" would otherwise meet on "s".
      terms.push(stem(run));
    }
  }
  return terms;
}

interface Index {
  docs: { entry: KnowledgeEntry; tf: Map<string, number>; length: number }[];
  df: Map<string, number>;
  averageLength: number;
}

/** Title and tags weigh three times the body: they name what an entry is about. */
const FIELD_WEIGHT = { title: 3, tags: 3, text: 1 };
const K1 = 1.2;
const B = 0.75;

const indexes = new WeakMap<readonly KnowledgeEntry[], Index>();

function buildIndex(entries: readonly KnowledgeEntry[]): Index {
  const df = new Map<string, number>();
  let total = 0;
  const docs = entries.map((entry) => {
    const tf = new Map<string, number>();
    const add = (text: string, weight: number): void => {
      for (const term of tokenizeForSearch(text)) tf.set(term, (tf.get(term) ?? 0) + weight);
    };
    add(`${entry.title} ${entry.zh.title}`, FIELD_WEIGHT.title);
    add(entry.tags.join(' '), FIELD_WEIGHT.tags);
    add(`${entry.text} ${entry.zh.text}`, FIELD_WEIGHT.text);
    let length = 0;
    for (const [term, count] of tf) {
      df.set(term, (df.get(term) ?? 0) + 1);
      length += count;
    }
    total += length;
    return { entry, tf, length };
  });
  return { docs, df, averageLength: docs.length === 0 ? 1 : total / docs.length };
}

/**
 * Ranks knowledge-base entries against a question with BM25. Deterministic: ties keep the
 * knowledge base's order.
 * @param query - the user's question, in any language
 * @param entries - the entries to search (indexed once per array)
 * @param options - how many hits, and the lowest score kept
 * @returns the best hits, best first; `[]` when nothing matches
 * @example
 * ```ts
 * searchKnowledgeBase('What is backpressure?', KNOWLEDGE_BASE)[0]?.entry.id; // 'backpressure'
 * ```
 */
export function searchKnowledgeBase(
  query: string,
  entries: readonly KnowledgeEntry[],
  options: SearchKnowledgeBaseOptions = {},
): KnowledgeHit[] {
  const limit = options.limit ?? 3;
  const minScore = options.minScore ?? 1;
  let index = indexes.get(entries);
  if (index === undefined) {
    index = buildIndex(entries);
    indexes.set(entries, index);
  }
  const terms = [...new Set(tokenizeForSearch(query))];
  const n = index.docs.length;
  const hits: KnowledgeHit[] = [];
  for (const doc of index.docs) {
    let score = 0;
    const matchedTerms: string[] = [];
    for (const term of terms) {
      const tf = doc.tf.get(term);
      if (tf === undefined) continue;
      const df = index.df.get(term) ?? 0;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      score += (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * doc.length) / index.averageLength));
      matchedTerms.push(term);
    }
    if (score >= minScore) hits.push({ entry: doc.entry, score, matchedTerms });
  }
  // Array.prototype.sort is stable, so equal scores keep the knowledge base's order.
  return hits.sort((a, b) => b.score - a.score).slice(0, limit);
}
