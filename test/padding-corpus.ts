/**
 * A fixed corpus of tokens for the padding measurements: English word pieces of 1–26 characters
 * (with and without a leading space), Chinese tokens of 1–10 characters, punctuation and newlines,
 * drawn from a seeded generator so every run measures the same tokens.
 */
import { createSeededRandom } from '../src/providers/replay/seeded-random.ts';

const LETTERS = 'etaoinshrdlucmfwypvbgkjqxz';
/** Common Chinese characters (one UTF-8 character is 3 bytes). */
const HANZI = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该';
const PUNCTUATION = ['.', ',', '!', '?', ':', ';', '\n', '\n\n', ' (', ')', '"', "'s", '。', '，', '、', '：'];

/**
 * The corpus: `count` tokens, about half English, a third Chinese, the rest punctuation.
 * @param count - how many tokens
 * @param seed - the generator's seed
 */
export function tokenCorpus(count: number, seed = 16): string[] {
  const random = createSeededRandom(seed);
  const pick = (text: string): string => text[Math.floor(random() * text.length)]!;
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = random();
    if (kind < 0.5) {
      const length = 1 + Math.floor(random() * 26);
      let token = random() < 0.5 ? ' ' : '';
      while (token.length < length) token += pick(LETTERS);
      tokens.push(token);
    } else if (kind < 0.85) {
      const length = 1 + Math.floor(random() * 10);
      let token = '';
      for (let n = 0; n < length; n++) token += pick(HANZI);
      tokens.push(token);
    } else {
      tokens.push(PUNCTUATION[Math.floor(random() * PUNCTUATION.length)]!);
    }
  }
  return tokens;
}

/**
 * Pearson's correlation coefficient of two equally long series.
 * @returns r in [-1, 1]; 0 when a series is constant (every frame the same size tells nothing)
 */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - meanX;
    const dy = ys[i]! - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0 || varianceY === 0) return 0;
  return covariance / Math.sqrt(varianceX * varianceY);
}

/**
 * A seeded `crypto.getRandomValues` stand-in for the padding's `random` option.
 * @param seed - the generator's seed
 */
export function seededFill(seed: number): (bytes: Uint8Array) => void {
  const random = createSeededRandom(seed);
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  };
}
