/**
 * Helpers of the provider tests: fixture loading and a small accumulator that rebuilds the
 * normalized result of `meta.json` from AgentEvents (deliberately independent of src/protocol's).
 */
import { readFileSync } from 'node:fs';
import type { AgentEvent, Usage } from '../src/protocol/types.ts';

/** The recordings kept in the repo (`fixtures/`, shipped with the package for the replay kit). */
export const FIXTURES = new URL('../fixtures/', import.meta.url);

export interface ExpectedToolCall {
  index: number;
  id: string;
  itemId?: string;
  name: string;
  arguments: unknown;
}

export interface Expected {
  text: string;
  reasoning: string | null;
  refusal?: string | null;
  signature?: string;
  toolCalls: ExpectedToolCall[];
  finishReason: string | null;
  finishReasonUnified: string;
  usage: Usage | null;
  error: { httpStatus: number; type: string | null; code: string | null; message: string } | null;
}

export interface FixtureEntry {
  file: string;
  kind?: 'json';
  status: number;
  headers: Record<string, string>;
  request: { method: string; path: string; headers?: Record<string, string>; body: Record<string, unknown> };
  expected: Expected;
}

/** The entries of a provider folder's meta.json. */
export function readMeta(folder: string): FixtureEntry[] {
  const meta = JSON.parse(readFileSync(new URL(`${folder}/meta.json`, FIXTURES), 'utf8')) as { fixtures: FixtureEntry[] };
  return meta.fixtures;
}

/** What a consumer ends up with after reading a whole event stream. */
export interface Normalized {
  messageId: string | undefined;
  text: string;
  reasoning: string | null;
  refusal: string | null;
  signature: string | null;
  toolCalls: { id: string; name: string; arguments: unknown; argumentText: string }[];
  finishReason: string | null;
  finishReasonUnified: string | null;
  usage: Usage | null;
  error: Extract<AgentEvent, { type: 'error' }> | null;
}

/** Rebuilds the normalized result and checks the event grammar on the way. */
export function normalize(events: AgentEvent[]): Normalized {
  const result: Normalized = {
    messageId: undefined,
    text: '',
    reasoning: null,
    refusal: null,
    signature: null,
    toolCalls: [],
    finishReason: null,
    finishReasonUnified: null,
    usage: null,
    error: null,
  };
  const refusalParts = new Set<string>();
  const openParts = new Set<string>();
  const argumentText = new Map<string, string>();
  events.forEach((event, i) => {
    if (i === 0 && event.type !== 'message-start') throw new Error(`first event is ${event.type}, not message-start`);
    if (i > 0 && event.type === 'message-start') throw new Error('message-start twice');
    if (i < events.length - 1 && (event.type === 'finish' || event.type === 'error')) throw new Error(`${event.type} is not last`);
    switch (event.type) {
      case 'message-start':
        result.messageId = event.messageId;
        break;
      case 'text-start':
      case 'reasoning-start':
        openParts.add(event.id);
        if (event.type === 'text-start' && event.refusal) refusalParts.add(event.id);
        break;
      case 'text-delta':
        if (!openParts.has(event.id)) throw new Error(`text-delta for unopened part ${event.id}`);
        if (refusalParts.has(event.id)) result.refusal = (result.refusal ?? '') + event.delta;
        else result.text += event.delta;
        break;
      case 'reasoning-delta':
        if (!openParts.has(event.id)) throw new Error(`reasoning-delta for unopened part ${event.id}`);
        result.reasoning = (result.reasoning ?? '') + event.delta;
        break;
      case 'text-end':
        openParts.delete(event.id);
        break;
      case 'reasoning-end':
        openParts.delete(event.id);
        if (event.signature !== undefined) result.signature = (result.signature ?? '') + event.signature;
        break;
      case 'tool-call-start':
        argumentText.set(event.toolCallId, '');
        break;
      case 'tool-call-delta': {
        const text = argumentText.get(event.toolCallId);
        if (text === undefined) throw new Error(`tool-call-delta before tool-call-start for ${event.toolCallId}`);
        argumentText.set(event.toolCallId, text + event.delta);
        break;
      }
      case 'tool-call':
        result.toolCalls.push({
          id: event.toolCallId,
          name: event.toolName,
          arguments: event.input,
          argumentText: argumentText.get(event.toolCallId) ?? '',
        });
        break;
      case 'usage': {
        const { type: _type, ...usage } = event;
        result.usage = usage;
        break;
      }
      case 'finish':
        result.finishReason = event.rawFinishReason ?? null;
        result.finishReasonUnified = event.finishReason;
        if (event.usage) result.usage = event.usage;
        break;
      case 'error':
        result.finishReasonUnified = 'error';
        result.error = event;
        break;
      default:
        break;
    }
  });
  return result;
}

/** Reads a whole event stream. */
export async function collect(stream: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Rejects with `message` if `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} (waited ${ms} ms)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
