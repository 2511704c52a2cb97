import { describe, expect, it } from 'vitest';
import type { ChatRequest, ToolDefinition } from '../types.ts';
import { buildToolInput, planToolCall } from './plan-tool-call.ts';

const searchDocs: ToolDefinition = {
  name: 'search_docs',
  description: 'Search the sluice documentation.',
  inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};
const getWeather: ToolDefinition = {
  name: 'getWeather',
  description: 'Current weather conditions for a city.',
  inputSchema: {
    type: 'object',
    properties: {
      city: { type: 'string' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      days: { type: 'integer', minimum: 1, maximum: 7 },
    },
    required: ['city', 'unit'],
  },
};

const request = (question: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'local',
  messages: [{ role: 'user', content: question }],
  tools: [searchDocs, getWeather],
  ...extra,
});
const plan = (question: string, extra: Partial<ChatRequest> = {}) => planToolCall(request(question, extra), question);

describe('planToolCall', () => {
  it('calls a tool named in the question, by its name or its words', () => {
    expect(plan('please use search_docs: SSE retry')).toMatchObject({ tool: { name: 'search_docs' }, reason: 'named' });
    expect(plan('Ask get weather about Oslo')).toMatchObject({ tool: { name: 'getWeather' }, reason: 'named' });
  });

  it('calls the tool whose name or description fits the question', () => {
    expect(plan("What's the weather in Paris?")).toMatchObject({
      tool: { name: 'getWeather' },
      reason: 'matched',
      input: { city: 'Paris', unit: 'celsius' },
    });
    expect(plan('Search the documentation for heartbeats')).toMatchObject({ tool: { name: 'search_docs' }, reason: 'matched' });
  });

  it('answers without a tool when none fits, when tools are missing, or with toolChoice none', () => {
    expect(plan('What is backpressure?')).toBeUndefined();
    expect(plan('What is the weather?', { toolChoice: 'none' })).toBeUndefined();
    expect(plan('What is the weather?', { tools: [] })).toBeUndefined();
  });

  it('follows toolChoice: a named tool is forced, required picks the best or first', () => {
    expect(plan('What is backpressure?', { toolChoice: { toolName: 'getWeather' } })).toMatchObject({ tool: { name: 'getWeather' }, reason: 'forced' });
    expect(plan('What is backpressure?', { toolChoice: 'required' })).toMatchObject({ tool: { name: 'search_docs' }, reason: 'required' });
    expect(() => plan('hi', { toolChoice: { toolName: 'missing' } })).toThrow(/`missing` \(offered: `search_docs`, `getWeather`\)/);
  });
});

describe('buildToolInput', () => {
  it('puts the question without the tool name into the query field', () => {
    expect(buildToolInput(searchDocs, 'use search_docs to explain SSE')).toEqual({ query: 'use to explain SSE' });
  });

  it('fills enums from the question, numbers within bounds, and skips optional fields without defaults', () => {
    expect(buildToolInput(getWeather, 'Weather in Berlin in fahrenheit')).toEqual({ city: 'Berlin', unit: 'fahrenheit' });
    const withDays: ToolDefinition = { ...getWeather, inputSchema: { ...getWeather.inputSchema, required: ['city', 'days'] } };
    expect(buildToolInput(withDays, 'Weather in Rome for the next 30 days')).toEqual({ city: 'Rome', days: 7 });
  });

  it('handles nested objects, arrays, booleans, defaults and schemas without properties', () => {
    const tool: ToolDefinition = {
      name: 'report',
      inputSchema: {
        type: 'object',
        properties: {
          topic: { type: 'string' },
          tags: { type: 'array', items: { type: 'string' } },
          draft: { type: 'boolean' },
          limit: { type: 'integer', default: 10 },
          options: { type: 'object', properties: { format: { enum: ['pdf', 'html'] } }, required: ['format'] },
        },
        required: ['tags', 'draft', 'options'],
      },
    };
    expect(buildToolInput(tool, 'the SSE wire format, as html')).toEqual({
      topic: 'the SSE wire format, as html',
      tags: ['the SSE wire format, as html'],
      draft: false,
      limit: 10,
      options: { format: 'html' },
    });
    expect(buildToolInput({ name: 'now', inputSchema: {} }, 'what time is it')).toEqual({});
  });
});
