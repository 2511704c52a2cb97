import { describe, expect, it } from 'vitest';
import { KNOWLEDGE_BASE } from './knowledge-base.ts';
import { searchKnowledgeBase, tokenizeForSearch } from './search-knowledge-base.ts';

const top = (query: string): string | undefined => searchKnowledgeBase(query, KNOWLEDGE_BASE)[0]?.entry.id;

describe('the knowledge base', () => {
  it('has 12 to 20 entries with unique ids, tags, and text in both languages', () => {
    expect(KNOWLEDGE_BASE.length).toBeGreaterThanOrEqual(12);
    expect(KNOWLEDGE_BASE.length).toBeLessThanOrEqual(20);
    expect(new Set(KNOWLEDGE_BASE.map((entry) => entry.id)).size).toBe(KNOWLEDGE_BASE.length);
    for (const entry of KNOWLEDGE_BASE) {
      expect(entry.id).toMatch(/^[a-z0-9-]+$/);
      expect(entry.tags.length).toBeGreaterThan(3);
      expect(entry.text.length).toBeGreaterThan(150);
      expect(entry.zh.text.match(/\p{Script=Han}/gu)?.length ?? 0, entry.id).toBeGreaterThan(40);
      expect(entry.zh.title).toMatch(/\p{Script=Han}/u);
    }
  });

  it('finds every entry first by its own English or Chinese title', () => {
    for (const entry of KNOWLEDGE_BASE) {
      expect(top(entry.title), entry.title).toBe(entry.id);
      expect(top(entry.zh.title), entry.zh.title).toBe(entry.id);
    }
  });
});

describe('searchKnowledgeBase', () => {
  it.each([
    ['What is backpressure?', 'backpressure'],
    ['How do I resume a stream after reconnecting?', 'reconnection-resume'],
    ['What is X-Accel-Buffering for?', 'heartbeats-proxies'],
    ['How do I stop the model when the client disconnects?', 'cancellation'],
    ['What happens if an error occurs after the first byte?', 'errors-mid-stream'],
    ['Should I use NDJSON or WebSocket?', 'ndjson-sse-websocket'],
    ['Does it work with useChat from the AI SDK?', 'protocol-endpoints'],
    ['How do I download a large file with Range requests?', 'large-files-range'],
    ['How do I use OpenAI instead?', 'switch-provider'],
    ['什么是流式响应？', 'streaming-basics'],
    ['SSE 的 retry 字段有什么用？', 'sse-format'],
    ['背压是什么', 'backpressure'],
    ['断线重连后怎么续传？', 'reconnection-resume'],
    ['长任务怎么推送进度', 'job-progress'],
    ['异步生成器怎么用', 'async-generators'],
  ])('answers %j with %s', (query, id) => {
    expect(top(query)).toBe(id);
  });

  it('finds nothing for questions outside the knowledge base', () => {
    expect(searchKnowledgeBase("What's the weather in Paris?", KNOWLEDGE_BASE)).toEqual([]);
    expect(searchKnowledgeBase('', KNOWLEDGE_BASE)).toEqual([]);
  });

  it('returns at most `limit` hits, best first, with the terms they matched', () => {
    const hits = searchKnowledgeBase('SSE reconnection heartbeat', KNOWLEDGE_BASE, { limit: 2 });
    expect(hits).toHaveLength(2);
    expect(hits[0]?.score).toBeGreaterThanOrEqual(hits[1]?.score ?? Infinity);
    expect(hits[0]?.matchedTerms.length).toBeGreaterThan(0);
  });
});

describe('tokenizeForSearch', () => {
  it('lower-cases and stems English words and drops stop words', () => {
    expect(tokenizeForSearch('What is Streaming of Events?')).toEqual(['stream', 'event']);
    expect(tokenizeForSearch('chunked cancelled retries')).toEqual(['chunk', 'cancel', 'retry']);
  });

  it('cuts Chinese into character bigrams without stop words', () => {
    expect(tokenizeForSearch('什么是流式响应')).toEqual(['是流', '流式', '式响', '响应']);
  });
});
