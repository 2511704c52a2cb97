/**
 * Token-length padding, measured as an attacker would: over a fixed corpus of tokens (English word
 * pieces of 1–26 characters, Chinese tokens of 1–10 characters, punctuation and newlines), per
 * wire format, the Pearson correlation between a token's length and the byte size of the frame
 * that carries it (one `encode` call is one write, so one TLS record on the wire). Without padding
 * it must be at least 0.9 (the leak is real); with padding at most 0.1 in absolute value.
 *
 * The token length is measured in UTF-8 bytes over the whole corpus, and in characters within each
 * language. The padding's random source is seeded (the corpus too), so each run measures the same
 * bytes; one run with the default `crypto.getRandomValues` checks the real source as well.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/core/utf8-length.ts';
import { agUi, agentNdjson, agentSse, agentText, aiSdkUiStream, openaiChunks, parsePaddingEnv } from '../src/protocol/index.ts';
import type { AgentEvent, PaddingOption } from '../src/protocol/index.ts';
import { createPadder, jsonStringBytes } from '../src/protocol/padding.ts';
import type { Format } from '../src/core/types.ts';
import { pearson, seededFill, tokenCorpus } from './padding-corpus.ts';

const CORPUS = tokenCorpus(4000);
const HANZI = /[\u4e00-\u9fff]/;

type Kind = 'text' | 'tool-input';

const FORMATS: Record<string, { make: (padding: PaddingOption) => Format<AgentEvent>; kinds: Kind[] }> = {
  'native SSE': { make: (padding) => agentSse({ padding }), kinds: ['text', 'tool-input'] },
  NDJSON: { make: (padding) => agentNdjson({ padding }), kinds: ['text', 'tool-input'] },
  'AI SDK UI message stream': { make: (padding) => aiSdkUiStream({ padding }), kinds: ['text', 'tool-input'] },
  'AG-UI': { make: (padding) => agUi({ threadId: 't', runId: 'r', padding }), kinds: ['text', 'tool-input'] },
  'OpenAI chat.completion.chunk': {
    make: (padding) => openaiChunks({ id: 'chatcmpl-1', model: 'local', created: 1_700_000_000, padding }),
    kinds: ['text', 'tool-input'],
  },
  'plain text': { make: (padding) => agentText({ padding }), kinds: ['text'] },
};

function bytesOf(frame: string | Uint8Array): number {
  return typeof frame === 'string' ? utf8Length(frame) : frame.byteLength;
}

/**
 * Streams the corpus through a fresh codec and gives, for each token, the size of the frame that
 * carries it: its own `encode` output, or (when the codec holds text back, as padded plain text
 * does) the first non-empty write at or after it, which carries its last byte.
 */
function frameSizes(format: Format<AgentEvent>, kind: Kind, tokens: readonly string[]): number[] {
  const opening: AgentEvent[] =
    kind === 'text'
      ? [{ type: 'text-start', id: 't1' }]
      : [{ type: 'tool-call-start', toolCallId: 'call-1', toolName: 'search_docs' }];
  for (const event of opening) format.encode(event);
  const writes = tokens.map((token) =>
    bytesOf(format.encode(kind === 'text' ? { type: 'text-delta', id: 't1', delta: token } : { type: 'tool-call-delta', toolCallId: 'call-1', delta: token })),
  );
  const tail = bytesOf(format.encode(kind === 'text' ? { type: 'text-end', id: 't1' } : { type: 'tool-call', toolCallId: 'call-1', toolName: 'search_docs', input: {} }));
  const sizes: number[] = [];
  let carrier = tail;
  for (let i = writes.length - 1; i >= 0; i--) {
    if (writes[i]! > 0) carrier = writes[i]!;
    sizes[i] = carrier;
  }
  return sizes;
}

interface Correlations {
  bytes: number;
  englishChars: number;
  chineseChars: number;
}

function correlations(sizes: readonly number[], tokens: readonly string[]): Correlations {
  const english: [number[], number[]] = [[], []];
  const chinese: [number[], number[]] = [[], []];
  tokens.forEach((token, i) => {
    const group = HANZI.test(token) ? chinese : /^ ?[a-z]+$/.test(token) ? english : undefined;
    group?.[0].push(token.length);
    group?.[1].push(sizes[i]!);
  });
  return {
    bytes: pearson(
      tokens.map((token) => utf8Length(token)),
      sizes,
    ),
    englishChars: pearson(...english),
    chineseChars: pearson(...chinese),
  };
}

describe('token length vs frame size, per format (Pearson r over 4,000 tokens)', () => {
  for (const [name, { make, kinds }] of Object.entries(FORMATS)) {
    for (const kind of kinds) {
      it(`${name}, ${kind} deltas: r ≥ 0.9 without padding, |r| ≤ 0.1 with it`, () => {
        const off = correlations(frameSizes(make(false), kind, CORPUS), CORPUS);
        const on = correlations(frameSizes(make({ random: seededFill(7) }), kind, CORPUS), CORPUS);
        console.log(`${name} ${kind}: off r = ${off.bytes.toFixed(3)} (en ${off.englishChars.toFixed(3)}, zh ${off.chineseChars.toFixed(3)}); on r = ${on.bytes.toFixed(3)} (en ${on.englishChars.toFixed(3)}, zh ${on.chineseChars.toFixed(3)})`);
        for (const r of Object.values(off)) expect(r).toBeGreaterThanOrEqual(0.9);
        for (const r of Object.values(on)) expect(Math.abs(r)).toBeLessThanOrEqual(0.1);
      });
    }
  }

  it('stays decorrelated with the default random source (crypto.getRandomValues)', () => {
    for (const make of [() => agentSse({ padding: true }), () => openaiChunks({ id: 'c', model: 'm', created: 1, padding: true })]) {
      const on = correlations(frameSizes(make(), 'text', CORPUS), CORPUS);
      for (const r of Object.values(on)) expect(Math.abs(r)).toBeLessThanOrEqual(0.1);
    }
  });
});

describe('the padding itself', () => {
  it('counts a string as JSON.stringify writes it (escapes included, quotes excluded)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(jsonStringBytes(text)).toBe(Buffer.byteLength(JSON.stringify(text)) - 2);
      }),
      { seed: 16, numRuns: 500 },
    );
  });

  it('pads content to a random size in the bucket above its own, with base64url filler', () => {
    const padder = createPadder({ bucketBytes: 32, random: seededFill(1) })!;
    const seen = new Set<number>();
    for (let content = 0; content < 100; content++) {
      for (let n = 0; n < 20; n++) {
        const filler = padder.filler(content);
        expect(filler).toMatch(/^[A-Za-z0-9_-]+$/);
        const total = content + filler.length;
        const bucket = Math.floor(content / 32) + 1;
        expect(total).toBeGreaterThanOrEqual(bucket * 32);
        expect(total).toBeLessThan((bucket + 1) * 32);
        if (content < 32) seen.add(total);
        expect(padder.whitespace(content)).toMatch(/^[ \t]+$/);
      }
    }
    // Every size of the first bucket occurs: the size is random, not a function of the content.
    expect(seen.size).toBe(32);
  });

  it('keeps every frame readable: NDJSON lines parse to the same event, OpenAI chunks carry `obfuscation`', () => {
    const event: AgentEvent = { type: 'text-delta', id: 't1', delta: 'héllo "world"\n' };
    const line = agentNdjson({ padding: { random: seededFill(2) } }).encode(event) as string;
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).toMatch(/\}[ \t]+$/);
    expect(JSON.parse(line)).toEqual(event);
    const format = openaiChunks({ id: 'c', model: 'm', created: 1, padding: { random: seededFill(3) } });
    format.encode({ type: 'text-start', id: 't1' });
    const chunk = JSON.parse((format.encode(event) as string).slice('data: '.length)) as { obfuscation: string; choices: { delta: { content: string } }[] };
    expect(chunk.choices[0]!.delta.content).toBe(event.delta);
    expect(chunk.obfuscation).toMatch(/^[A-Za-z0-9_-]+$/);
    const sse = agentSse({ padding: { random: seededFill(4) } }).encode({ id: 1, event }) as string;
    expect(sse).toMatch(/^event: text-delta\nid: 1\ndata: .*\n: [A-Za-z0-9_-]+\n\n$/);
  });

  it('pads a whole tool call, and leaves frames without generated content alone', () => {
    const sse = agentSse({ padding: true });
    expect(sse.encode({ id: 1, event: { type: 'tool-call', toolCallId: 'c1', toolName: 'calculator', input: { expression: '17*23' } } })).toMatch(/\n: [A-Za-z0-9_-]+\n\n$/);
    expect(sse.encode({ id: 2, event: { type: 'step-start', step: 1 } })).toBe('event: step-start\nid: 2\ndata: {"type":"step-start","step":1}\n\n');
    expect(sse.encode({ id: 3, event: { type: 'finish', finishReason: 'stop' } })).toBe('event: finish\nid: 3\ndata: {"type":"finish","finishReason":"stop"}\n\n');
  });

  it('writes plain text in chunks of exactly textChunkBytes bytes, the rest when the block ends, the text unchanged', () => {
    const encoder = new TextEncoder();
    const bytes = (chunk: string | Uint8Array): Uint8Array => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (deltas, size) => {
        const format = agentText({ padding: { textChunkBytes: size } });
        const writes = deltas.map((delta) => bytes(format.encode({ type: 'text-delta', id: 't', delta })));
        const end = bytes(format.encode({ type: 'text-end', id: 't' }));
        for (const write of writes) expect(write.length % size).toBe(0);
        expect(end.length).toBeLessThan(size);
        expect(Buffer.concat([...writes, end]).toString('utf8')).toBe(deltas.join(''));
      }),
      { seed: 16, numRuns: 200 },
    );
  });

  it('is off in a library codec unless its padding option turns it on; SLUICE_PADDING is on unless "off"', () => {
    const delta: AgentEvent = { type: 'text-delta', id: 't', delta: 'hi' };
    expect(agentSse().encode({ id: 1, event: delta })).toBe('event: text-delta\nid: 1\ndata: {"type":"text-delta","id":"t","delta":"hi"}\n\n');
    expect(agentSse({ padding: true }).encode({ id: 1, event: delta })).toMatch(/^event: text-delta\nid: 1\ndata: .*\n: [A-Za-z0-9_-]+\n\n$/);
    expect(agentSse({ padding: false }).encode(delta)).not.toContain('\n: ');
    expect(parsePaddingEnv(undefined)).toBe(true);
    expect(parsePaddingEnv('on')).toBe(true);
    expect(parsePaddingEnv(' OFF ')).toBe(false);
    expect(() => parsePaddingEnv('maybe')).toThrow(RangeError);
    expect(() => agentSse({ padding: { bucketBytes: 0 } })).toThrow(RangeError);
  });
});
