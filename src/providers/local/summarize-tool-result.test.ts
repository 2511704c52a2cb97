import { describe, expect, it } from 'vitest';
import { readConversation, detectLanguage } from './read-conversation.ts';
import { summarizeToolResult, truncate } from './summarize-tool-result.ts';

const result = (output: unknown, isError?: boolean) => ({
  type: 'tool-result' as const,
  toolCallId: 'c1',
  toolName: 'lookup',
  output,
  ...(isError === undefined ? {} : { isError }),
});

describe('summarizeToolResult', () => {
  it('quotes strings, lists arrays and results fields, shows text fields or JSON of objects', () => {
    expect(summarizeToolResult(result('It is sunny.'), 'en')).toBe('The `lookup` tool returned:\n> It is sunny.');
    expect(summarizeToolResult(result({ results: [{ name: 'a', text: 'b' }, 'c'] }), 'en')).toBe(
      'The `lookup` tool returned 2 results:\n- **a**: b\n- c',
    );
    expect(summarizeToolResult(result({ answer: '42' }), 'zh')).toBe('工具 `lookup` 返回：\n> 42');
    expect(summarizeToolResult(result({ n: 1 }), 'en')).toBe('The `lookup` tool returned:\n```json\n{\n  "n": 1\n}\n```');
    expect(summarizeToolResult(result(7), 'en')).toBe('The `lookup` tool returned: 7');
  });

  it('says when the tool failed, and shows at most five items', () => {
    expect(summarizeToolResult(result('timeout', true), 'en')).toBe('The `lookup` tool failed: timeout');
    const many = summarizeToolResult(result(Array.from({ length: 8 }, (_, i) => `item ${i}`)), 'en');
    expect(many.split('\n')).toHaveLength(7);
    expect(many).toContain('- … and 3 more');
  });

  it('survives outputs JSON cannot show', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(summarizeToolResult(result(cyclic), 'en')).toContain('[object Object]');
    expect(summarizeToolResult(result({ big: 10n }), 'en')).toContain('"10"');
  });
});

describe('truncate', () => {
  it('cuts at a word boundary and never inside an emoji', () => {
    expect(truncate('alpha beta gamma delta', 14)).toBe('alpha beta…');
    expect(truncate('😀'.repeat(10), 3)).toBe('😀😀😀…');
  });
});

describe('readConversation', () => {
  it('finds the question, its language, pending tool results and whether the notice was given', () => {
    const reading = readConversation([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: '天气怎么样？' }] },
      { role: 'assistant', content: [{ type: 'text', text: "I'm sluice's built-in local demo model…" }, { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: {} }] },
      { role: 'tool', content: [result('晴')] },
    ]);
    expect(reading).toEqual({ question: '天气怎么样？', language: 'zh', toolResults: [result('晴')], introduced: true });
  });

  it('has no pending tool results once a new user message follows them', () => {
    const reading = readConversation([
      { role: 'tool', content: [result('x')] },
      { role: 'user', content: 'thanks' },
    ]);
    expect(reading.toolResults).toEqual([]);
    expect(reading.introduced).toBe(false);
  });

  it('answers in Chinese when Han characters are at least as many as Latin words', () => {
    expect(detectLanguage('什么是 SSE？')).toBe('zh');
    expect(detectLanguage('What does 背压 mean?')).toBe('en');
    expect(detectLanguage('')).toBe('en');
  });
});
