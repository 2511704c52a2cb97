import { describe, expect, it } from 'vitest';
import type { ToolDefinition } from '../types.ts';
import { findExpression, planBuiltinCall } from './plan-builtin-call.ts';

const BUILTIN: ToolDefinition[] = ['calculator', 'search_docs', 'analyze_data', 'generate_report'].map((name) => ({ name, inputSchema: { type: 'object' } }));
const plan = (question: string, tools = BUILTIN, extra = {}) => planBuiltinCall({ model: 'local', messages: [], tools, ...extra }, question);

describe('findExpression', () => {
  it.each([
    ['What is 17*23?', '17*23'],
    ['what is (0.1+0.2)*3?', '(0.1+0.2)*3'],
    ['compute 2^10 please', '2^10'],
    ['What is 3 - -2?', '3 - -2'],
    ['17×23 等于多少？', '17×23'],
    ['(1+2)*(3+4)', '(1+2)*(3+4)'],
  ])('finds the arithmetic in %j', (question, expression) => {
    expect(findExpression(question)).toBe(expression);
  });

  it.each(['In 2025, sales were 10', 'What happened on 2025-03-01?', 'Is HTTP/2 better?', 'What is backpressure?'])('finds none in %j', (question) => {
    expect(findExpression(question)).toBeUndefined();
  });
});

describe('planBuiltinCall', () => {
  it.each([
    ['What is 17*23?', { toolName: 'calculator', input: { expression: '17*23' } }],
    ['Search the docs for backpressure', { toolName: 'search_docs', input: { query: 'backpressure' } }],
    ['搜索一下断线重连', { toolName: 'search_docs', input: { query: '断线重连' } }],
    ['What is backpressure?', { toolName: 'search_docs', input: { query: 'What is backpressure?' }, reason: 'docs' }],
    ['Please analyze the sales data', { toolName: 'analyze_data', input: { dataset: 'sales' } }],
    ['帮我分析一下销售数据', { toolName: 'analyze_data' }],
    ['Write a report on resume and reconnection', { toolName: 'generate_report', input: { topic: 'resume and reconnection' } }],
    ['生成一份关于背压的报告', { toolName: 'generate_report', input: { topic: '背压' } }],
  ])('%j calls %o', (question, expected) => {
    expect(plan(question)).toMatchObject(expected);
  });

  it('calls nothing for a greeting or what the docs do not cover, when the tool is not offered, or with toolChoice none', () => {
    expect(plan('hello')).toBeUndefined();
    expect(plan("What's the weather in Paris?")).toBeUndefined();
    expect(plan('What is 17*23?', BUILTIN.filter((t) => t.name === 'generate_report'))).toBeUndefined();
    expect(plan('What is 17*23?', BUILTIN, { toolChoice: 'none' })).toBeUndefined();
  });
});
