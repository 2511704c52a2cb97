/**
 * The search tokenizer shared by the docs index and the local model: `Intl.Segmenter` word
 * segmentation, so English and Chinese both work.
 *
 * @module
 */

const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can could did do does doing for from had has have how i if in into is it its ' +
    'me my of on or our please should so tell than that the their them then there these they this to us was ' +
    'we were what when where which who why will with would you your explain about describe mean means meaning ' +
    'work works need needs happen happens get got want show know difference between vs versus'
  ).split(' '),
);
/** Chinese words that carry no topic: question words, particles, pronouns. */
const STOP_ZH = new Set(['什么', '怎么', '怎样', '如何', '为什么', '一下', '请问', '可以', '能否', '吗', '呢', '吧', '啊', '的', '地', '得', '是', '了', '和', '与', '及', '在', '我', '你', '他', '它', '这', '那', '个', '有', '要']);

const HAN = /\p{Script=Han}/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

// Created once: a Segmenter is costly to build and safe to share.
const SEGMENTER_ZH = new Intl.Segmenter('zh', { granularity: 'word' });
const SEGMENTER_EN = new Intl.Segmenter('en', { granularity: 'word' });

/**
 * Light English stemming so that "streaming", "streams" and "stream" meet; both the docs and the
 * queries go through it, so it only has to be consistent, not linguistically right.
 * @param word - a lower-case word
 * @returns its stem
 */
export function stem(word: string): string {
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

function pushLatin(word: string, terms: string[]): void {
  // "what's" → "what", "client’s" → "client": the possessive and contraction tails say nothing.
  const lower = word.toLowerCase().replace(/['’](?:s|re|ve|ll|d|t|m)?$/u, '');
  // `search_docs` is one word to the segmenter; index it whole and by its parts.
  const parts = lower.includes('_') ? [lower, ...lower.split('_')] : [lower];
  for (const part of parts) {
    if (part.length < 2 && !/\d/.test(part)) continue;
    if (STOP_WORDS.has(part)) continue;
    terms.push(stem(part));
  }
}

/**
 * Out-of-dictionary Chinese words come out of the segmenter as single characters ("背|压"): a run
 * of such characters is indexed as overlapping bigrams ("背压"), so the query's run meets the
 * document's wherever the segmenter splits it.
 */
function flushRun(run: string[], terms: string[]): void {
  if (run.length === 1) terms.push(run[0] as string);
  for (let i = 0; i + 1 < run.length; i++) terms.push((run[i] as string) + (run[i + 1] as string));
  run.length = 0;
}

function pushChinese(text: string, terms: string[]): void {
  const run: string[] = [];
  for (const { segment, isWordLike } of SEGMENTER_ZH.segment(text)) {
    if (!isWordLike || STOP_ZH.has(segment)) {
      flushRun(run, terms);
      continue;
    }
    if (!HAN.test(segment)) {
      flushRun(run, terms);
      pushLatin(segment, terms);
    } else if (Array.from(segment).length === 1) {
      run.push(segment);
    } else {
      flushRun(run, terms);
      terms.push(segment);
    }
  }
  flushRun(run, terms);
}

/**
 * The search terms of `text`: Chinese words from `Intl.Segmenter` (runs of single characters as
 * bigrams), English words lower-cased and lightly stemmed; stop words dropped in both.
 * @param text - a query or a document field
 * @returns the terms, with repeats, in order
 * @example
 * ```ts
 * tokenizeForSearch('What is Streaming of Events?'); // ['stream', 'event']
 * tokenizeForSearch('什么是背压？'); // ['背压']
 * ```
 */
export function tokenizeForSearch(text: string): string[] {
  const terms: string[] = [];
  if (HAN.test(text)) {
    pushChinese(text, terms);
    return terms;
  }
  for (const { segment, isWordLike } of SEGMENTER_EN.segment(text)) {
    if (isWordLike && LETTER_OR_DIGIT.test(segment)) pushLatin(segment, terms);
  }
  return terms;
}
