/**
 * Decides, deterministically, whether the local demo model calls a tool, which one, and with what
 * input built from the tool's JSON Schema and the user's question.
 *
 * @module
 */
import type { ChatRequest, JsonSchema, ToolDefinition } from '../types.ts';
import { excerpt } from './summarize-tool-result.ts';
import { memoizeByText } from './memo.ts';
import { tokenizeForSearch } from './tokenize-for-search.ts';

/** A tool call the demo model decided to make. */
export interface PlannedToolCall {
  tool: ToolDefinition;
  input: Record<string, unknown>;
  /**
   * Why: `forced` by `toolChoice: { toolName }`, `named` in the question, `matched` (the question
   * shares words with the tool's name or description), or `required` by `toolChoice: 'required'`.
   */
  reason: 'forced' | 'named' | 'matched' | 'required';
}

/** Words in tool names that say nothing about what the tool is for. */
const GENERIC_NAME_WORDS = new Set(['get', 'set', 'run', 'make', 'create', 'tool', 'call', 'use', 'fn', 'func', 'api', 'do', 'v1', 'v2']);
const QUERY_NAME = /^(?:q|query|question|search|search_?query|text|prompt|input|topic|keywords?|terms?|message|content)$/i;
const PLACE_NAME = /^(?:city|location|place|country|region|name)$/i;
const LIMIT_NAME = /^(?:limit|top_?k|k|count|max_?results|num_?results|size|n)$/i;

function nameWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .toLowerCase()
    .trim();
}

/** Whether `haystack` (lower-cased) contains `needle` with no letter or digit glued to either side. */
function mentions(haystack: string, needle: string): boolean {
  if (needle === '') return false;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
    const before = haystack[at - 1] ?? ' ';
    const after = haystack[at + needle.length] ?? ' ';
    if (!/[a-z0-9_]/.test(before) && !/[a-z0-9_]/.test(after)) return true;
  }
  return false;
}

/**
 * Whether the question names the tool by its exact name, as in "use everything__echo" (the way a
 * user picks one of an MCP server's tools).
 * @param question - the user's question
 * @param toolName - the tool's name
 * @returns whether it does
 */
export function namesToolExactly(question: string, toolName: string): boolean {
  return mentions(question.toLowerCase(), toolName.toLowerCase());
}

function isNamed(question: string, tool: ToolDefinition): boolean {
  const lower = question.toLowerCase();
  return mentions(lower, tool.name.toLowerCase()) || mentions(lower, nameWords(tool.name));
}

/** The search terms of a tool's name, without generic words; kept for the tools offered again with each request. */
const nameTerms = memoizeByText((name): ReadonlySet<string> => new Set(tokenizeForSearch(nameWords(name)).filter((term) => !GENERIC_NAME_WORDS.has(term))), 256);
/** The search terms of a tool's description, kept likewise. */
const descriptionTerms = memoizeByText((description): ReadonlySet<string> => new Set(tokenizeForSearch(description)), 256);

/** 2 points per question word in the tool's name, 1 per word in its description; below 2, no match. */
function matchScore(questionTerms: ReadonlySet<string>, tool: ToolDefinition): number {
  const inName = nameTerms(tool.name);
  const inDescription = descriptionTerms(tool.description ?? '');
  let score = 0;
  for (const term of questionTerms) {
    if (inName.has(term)) score += 2;
    else if (inDescription.has(term)) score += 1;
  }
  return score;
}

/** The question without the tool's name in it, for the query field: "use search_docs for SSE" → "use for SSE". */
function queryText(question: string, tool: ToolDefinition): string {
  let text = question;
  for (const name of [tool.name, nameWords(tool.name)]) {
    if (name !== '') text = text.split(new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')).join(' ');
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text === '' ? question.trim() : text;
}

function asSchema(value: unknown): JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : {};
}

function schemaType(schema: JsonSchema): string | undefined {
  const alternatives = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(alternatives)) return schemaType(asSchema(alternatives[0]));
  const type = schema['type'];
  if (Array.isArray(type)) return type.find((t) => t !== 'null') as string | undefined;
  return typeof type === 'string' ? type : schema['properties'] !== undefined ? 'object' : undefined;
}

function firstNumber(text: string): number | undefined {
  const match = /-?\d+(?:\.\d+)?/.exec(text);
  return match ? Number(match[0]) : undefined;
}

function lastProperNoun(text: string): string | undefined {
  // Capitalised words after the first one ("What's the weather in Paris?" → "Paris").
  const words = [...text.matchAll(/(?<=\s)\p{Lu}[\p{L}-]+/gu)].map((m) => m[0]);
  return words.at(-1);
}

interface Fill {
  question: string;
  query: string;
}

function valueFor(name: string, schema: JsonSchema, fill: Fill, isQueryField: boolean): unknown {
  if ('const' in schema) return schema['const'];
  if (schema['default'] !== undefined) return schema['default'];
  const options = schema['enum'];
  if (Array.isArray(options) && options.length > 0) {
    const lower = fill.question.toLowerCase();
    return options.find((option) => typeof option === 'string' && mentions(lower, option.toLowerCase())) ?? options[0];
  }
  switch (schemaType(schema)) {
    case 'number':
    case 'integer': {
      const minimum = typeof schema['minimum'] === 'number' ? schema['minimum'] : undefined;
      const maximum = typeof schema['maximum'] === 'number' ? schema['maximum'] : undefined;
      let value = LIMIT_NAME.test(name) ? 3 : (firstNumber(fill.question) ?? minimum ?? 1);
      if (minimum !== undefined) value = Math.max(value, minimum);
      if (maximum !== undefined) value = Math.min(value, maximum);
      return schemaType(schema) === 'integer' ? Math.round(value) : value;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const items = asSchema(schema['items']);
      return schemaType(items) === 'string' ? [fill.query] : [];
    }
    case 'object':
      return buildObject(schema, fill);
    default:
      if (!isQueryField && PLACE_NAME.test(name)) return excerpt(lastProperNoun(fill.question) ?? fill.query);
      return fill.query;
  }
}

function buildObject(schema: JsonSchema, fill: Fill): Record<string, unknown> {
  const properties = asSchema(schema['properties']);
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : []);
  const names = Object.keys(properties);
  // A free-text field: a string without `enum` or `const`, which take fixed values instead.
  const isString = (name: string): boolean => {
    const property = asSchema(properties[name]);
    const type = schemaType(property);
    return (type === 'string' || type === undefined) && property['enum'] === undefined && !('const' in property);
  };
  const queryField =
    names.find((name) => isString(name) && QUERY_NAME.test(name)) ??
    names.find((name) => isString(name) && required.has(name) && !PLACE_NAME.test(name)) ??
    names.find((name) => isString(name) && !PLACE_NAME.test(name));
  const input: Record<string, unknown> = {};
  for (const name of names) {
    const property = asSchema(properties[name]);
    if (!required.has(name) && name !== queryField && property['default'] === undefined) continue;
    input[name] = valueFor(name, property, fill, name === queryField);
  }
  return input;
}

/**
 * Builds a tool's input from its JSON Schema: the question (without the tool's name) goes into the
 * query-like string field (`query`, `q`, `question`, … or else the first string field), a place
 * field (`city`, `location`, …) gets the last capitalised word, enums take the value the question
 * mentions or their first, numbers the first number in the question (limits get 3), within
 * `minimum`/`maximum`. Optional fields are left out unless they have a `default`. Text from the
 * question is an {@link excerpt} of at most 200 characters.
 * @param tool - the tool to call
 * @param question - the user's question
 * @returns the input object
 */
export function buildToolInput(tool: ToolDefinition, question: string): Record<string, unknown> {
  return buildObject(tool.inputSchema, { question, query: excerpt(queryText(question, tool)) });
}

/**
 * The tool call the demo model makes for `request`, if any. Only a user's new message can lead to
 * a call (after a tool result the model answers instead), never with `toolChoice: 'none'`. In order:
 * `toolChoice: { toolName }` forces that tool; a tool named in the question (`search_docs` or
 * "search docs") is called; otherwise the tool scoring highest with 2 points per question word in
 * its name and 1 per word in its description is called when it scores 2 or more; with
 * `toolChoice: 'required'` the best (or first) tool is called anyway.
 * @param request - the chat request (its `tools` and `toolChoice`)
 * @param question - the text of the last user message
 * @returns the planned call, or undefined to answer with text
 * @throws TypeError when `toolChoice` names a tool that `tools` does not offer
 */
export function planToolCall(request: ChatRequest, question: string): PlannedToolCall | undefined {
  const tools = request.tools ?? [];
  const choice = request.toolChoice ?? 'auto';
  if (choice === 'none') return undefined;
  if (typeof choice === 'object') {
    const tool = tools.find((t) => t.name === choice.toolName);
    if (tool === undefined) {
      const offered = tools.map((t) => `\`${t.name}\``).join(', ') || 'none';
      throw new TypeError(`Expected \`toolChoice.toolName\` to name an offered tool, got \`${choice.toolName}\` (offered: ${offered}).`);
    }
    return { tool, input: buildToolInput(tool, question), reason: 'forced' };
  }
  if (tools.length === 0) return undefined;
  const named = tools.find((tool) => isNamed(question, tool));
  if (named !== undefined) return { tool: named, input: buildToolInput(named, question), reason: 'named' };
  const terms = new Set(tokenizeForSearch(question));
  let best: ToolDefinition | undefined;
  let bestScore = 0;
  for (const tool of tools) {
    const score = matchScore(terms, tool);
    if (score > bestScore) {
      best = tool;
      bestScore = score;
    }
  }
  if (best !== undefined && bestScore >= 2) return { tool: best, input: buildToolInput(best, question), reason: 'matched' };
  if (choice === 'required') {
    const tool = best ?? (tools[0] as ToolDefinition);
    return { tool, input: buildToolInput(tool, question), reason: 'required' };
  }
  return undefined;
}
