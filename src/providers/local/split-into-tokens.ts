/**
 * Splits text into pieces the size of a real model's tokens, for the local demo model's deltas.
 *
 * @module
 */

// One regex pass, alternatives tried in order:
//   1. a run of line breaks (real tokenizers emit "\n\n" as its own token);
//   2. spaces or tabs, attached to what follows them (GPT-style " word" tokens);
//   3. an emoji with its modifiers, variation selectors and ZWJ-joined parts, or a flag
//      (a pair of regional indicators): never split, since half an emoji renders as garbage;
//   4. a run of Han, kana or Hangul (split below into one- or two-character tokens);
//   5. a run of letters, digits and combining marks (a word);
//   6. one to three other characters (punctuation, symbols), never a lone surrogate.
const PIECE =
  /[\r\n]+|[ \t]*(?:\p{Extended_Pictographic}(?:\u{FE0F}|\u{20E3}|\p{Emoji_Modifier}|\u{200D}\p{Extended_Pictographic}\u{FE0F}?)*|\p{Regional_Indicator}{1,2}|[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u{30FC}]+|[\p{L}\p{N}\p{M}_']+|[^\p{L}\p{N}\p{M}\s\p{Extended_Pictographic}\p{Regional_Indicator}]{1,3}|\s)/gu;

const CJK_RUN = /^([ \t]*)([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u{30FC}]+)$/u;
const WORD_RUN = /^([ \t]*)([\p{L}\p{N}\p{M}_']+)$/u;
// A base character with its combining marks: the unit a long word is cut into (never mid-character).
const CLUSTER = /\P{M}\p{M}*|\p{M}+/gu;

/** Words up to this many characters are one token; longer ones are cut into pieces of {@link WORD_PIECE}. */
const MAX_WHOLE_WORD = 7;
const WORD_PIECE = 4;
/** Han, kana and Hangul go out two characters per token. */
const CJK_PIECE = 2;

function* chunk(units: string[], size: number, prefix: string): Generator<string> {
  for (let i = 0; i < units.length; i += size) {
    yield (i === 0 ? prefix : '') + units.slice(i, i + size).join('');
  }
}

/**
 * The pieces of {@link splitIntoTokens}, made one at a time as they are read: the local model
 * streams an answer this way, so a chat's start does not split (and hold) its whole answer.
 * @param text - any string
 * @returns the pieces, in order; none for the empty string
 */
export function* tokensOf(text: string): Generator<string, void, undefined> {
  let consumed = 0;
  for (const match of text.matchAll(PIECE)) {
    if (match.index !== consumed) {
      // Cannot happen with the alternatives above (every code point matches one of them), but a
      // gap would silently drop text, so it is kept as its own piece rather than trusted away.
      yield text.slice(consumed, match.index);
    }
    const piece = match[0];
    consumed = match.index + piece.length;
    const cjk = CJK_RUN.exec(piece);
    if (cjk) {
      yield* chunk(Array.from(cjk[2] ?? ''), CJK_PIECE, cjk[1] ?? '');
      continue;
    }
    const word = WORD_RUN.exec(piece);
    if (word) {
      const clusters = (word[2] ?? '').match(CLUSTER) ?? [];
      if (clusters.length > MAX_WHOLE_WORD) {
        yield* chunk(clusters, WORD_PIECE, word[1] ?? '');
        continue;
      }
    }
    yield piece;
  }
  if (consumed < text.length) yield text.slice(consumed);
}

/**
 * Splits `text` into token-sized pieces whose concatenation is exactly `text`. Words of up to seven
 * characters stay whole (with their leading space), longer words are cut every four characters,
 * Chinese, Japanese and Korean go two characters per piece, and no piece ever splits a surrogate
 * pair, a combining mark from its base, or an emoji sequence.
 * @param text - any string
 * @returns the pieces, in order; `[]` for the empty string
 * @example
 * ```ts
 * splitIntoTokens('Backpressure 很重要 👍🏽'); // ['Back', 'pres', 'sure', ' 很重', '要', ' 👍🏽']
 * ```
 */
export function splitIntoTokens(text: string): string[] {
  return Array.from(tokensOf(text));
}
