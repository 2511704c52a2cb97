/**
 * Decides when the local demo model calls one of the built-in tools, the way a real model would:
 * `calculator` for arithmetic in the question, `generate_report` when asked for a report,
 * `analyze_data` when asked to analyze the data, `search_docs` when asked to search or look
 * something up, and for questions the docs answer.
 *
 * @module
 */
import type { ChatRequest } from '../types.ts';
import { namesToolExactly } from './plan-tool-call.ts';
import { searchDocs } from './search-docs.ts';
import { excerpt } from './summarize-tool-result.ts';

/** The tools this planner knows. */
const BUILTIN_NAMES: ReadonlySet<string> = new Set(['calculator', 'search_docs', 'analyze_data', 'generate_report', 'publish_event']);

/** A call of a built-in tool the demo model decided to make. */
export interface PlannedBuiltinCall {
  toolName: 'calculator' | 'search_docs' | 'analyze_data' | 'generate_report' | 'publish_event';
  input: Record<string, unknown>;
  /** Why, for the reasoning: `arithmetic`, `report`, `analysis`, `search` (asked), `docs` (the docs answer it) or `publish`. */
  reason: 'arithmetic' | 'report' | 'analysis' | 'search' | 'docs' | 'publish';
}

/** The longest expression the demo model hands the calculator (the `calculator` tool's own limit). */
export const MAX_EXPRESSION_CHARS = 1000;

// Runs of characters an arithmetic expression is made of.
const EXPRESSION_RUN = /[\d.\s+\-*/%^()×÷−]+/g;
const OPERATOR_BETWEEN_NUMBERS = /\d\s*\)*\s*(?:\*\*|[+\-*/%^×÷−])\s*\(*\s*-?\s*\.?\d/;

/**
 * The arithmetic expression in a question: the longest run of digits, operators and parentheses
 * with an operator between two numbers ("What is 17*23?" → "17*23"). Unbalanced edge parentheses
 * and trailing operators are trimmed. A run longer than {@link MAX_EXPRESSION_CHARS} is no
 * expression the calculator takes, and when the question is the start of a longer message
 * (`cut`), a run at its end may go on past the cut, so neither is taken.
 * @param question - the user's question
 * @param cut - whether `question` is the start of a longer message
 * @returns the expression, or undefined when there is none
 */
export function findExpression(question: string, cut = false): string | undefined {
  let best: string | undefined;
  for (const match of question.matchAll(EXPRESSION_RUN)) {
    const run = match[0];
    if (cut && match.index + run.length === question.length) continue;
    let text = run.trim().replace(/[\s+\-*/%^×÷−.(]+$/, '');
    if (text.length > MAX_EXPRESSION_CHARS) continue;
    // Drop a leading ')' or closing parentheses without an opening one, and dangling '(' at the end.
    while (text.startsWith(')')) text = text.slice(1).trim();
    let depth = 0;
    for (const char of text) depth += char === '(' ? 1 : char === ')' ? -1 : 0;
    while (depth > 0 && text.startsWith('(')) {
      text = text.slice(1).trim();
      depth--;
    }
    // A date (2025-03-01) or a version range is not arithmetic.
    if (!OPERATOR_BETWEEN_NUMBERS.test(text) || /^\d{4}-\d{2}(?:-\d{2})?$/.test(text)) continue;
    if (best === undefined || text.length > best.length) best = text;
  }
  return best;
}

const REPORT = /\breports?\b|报告/i;
const ANALYZE = /\banaly[sz](?:e|es|is|ing)\b|\bstatistics\b|\bstats\b|分析|统计/i;
const DATA = /\b(?:data(?:set)?|sales|csv|revenue|orders?)\b|数据|销售|订单/i;
const SEARCH = /\b(?:search|look\s*(?:it\s*)?up|find|docs|documentation)\b|搜索|查找|查一下|查查|检索|文档/i;

const PUBLISH = /\b(?:publish|announce|broadcast)\b|发布|公告|广播|通知大家/i;
/** The topic `publish_event` uses when the question names none: the page's push panel starts on it, so a demo's announcement shows there. */
export const DEFAULT_PUBLISH_TOPIC = 'demo';

/**
 * "Publish 'deploy done' on topic ops" → `{topic: 'ops', data: {text: 'deploy done'}}`;
 * "Announce that the release is out" → `{topic: 'demo', data: {text: 'the release is out'}}`.
 */
function publishInput(question: string): Record<string, unknown> {
  const named = /\b(?:topic|channel)\s+[`"'“]?([A-Za-z0-9._:/-]{1,128})/i.exec(question)?.[1] ?? /(?:主题|频道)\s*[`"'“「]?([A-Za-z0-9._:/-]{1,128})/.exec(question)?.[1] ?? DEFAULT_PUBLISH_TOPIC;
  // "on channel team-7: build passed": the colon ends the name here, though topics may hold one.
  const topic = named.replace(/[:./-]+$/, '') || DEFAULT_PUBLISH_TOPIC;
  const quoted = /["“「'`]([^"”」'`]+)["”」'`]/.exec(question.replace(/\b(?:topic|channel)\s+[`"'“]?[A-Za-z0-9._:/-]+[`"'”]?/gi, ''))?.[1];
  const after = /\bthat\s+(.+)$/i.exec(question)?.[1] ?? /[:：]\s*(.+)$/.exec(question)?.[1];
  const text = (quoted ?? after ?? question.replace(PUBLISH, ''))
    .replace(/\s*\b(?:on|to)\s+(?:the\s+)?(?:topic|channel)\s+\S+/gi, '')
    .replace(/[?？。.!！]+$/u, '')
    .trim();
  return { topic, data: { text: excerpt(text === '' ? question.trim() : text) } };
}

/** "Write a report on SSE resume" → "SSE resume"; "生成一份关于背压的报告" → "背压". */
function reportTopic(question: string): string {
  const en = /\breports?\b\s*(?:on|about|of|for|covering)?\s*(.+)$/i.exec(question)?.[1];
  const zh = /关于(.+?)的(?:报告|研究)/.exec(question)?.[1] ?? /报告[:：]?\s*(.+)$/.exec(question)?.[1];
  const topic = (zh ?? en ?? question).replace(/[?？。.!！]+$/u, '').trim();
  return excerpt(topic === '' ? question.trim() : topic);
}

/** "Search the docs for backpressure" → "backpressure". */
function searchQuery(question: string): string {
  const query = question
    .replace(/\b(?:please\s+)?(?:search|look\s*(?:it\s*)?up|find)\b(?:\s+(?:in\s+)?(?:the\s+)?(?:sluice'?s?\s+)?(?:docs|documentation))?(?:\s+(?:for|about|on))?\s*/gi, '')
    .replace(/(?:请)?(?:帮我)?(?:在文档(?:里|中))?(?:搜索|查找|查一下|查查|检索)(?:一下)?(?:文档)?(?:里|中)?/g, '')
    .replace(/\bplease\b/gi, '')
    .replace(/\s+/g, ' ')
    .trim();
  return excerpt(query === '' ? question.trim() : query);
}

/**
 * The built-in tool call for `question`, when the request offers that tool and `toolChoice` allows
 * one (`auto` or `required`; a forced tool is planned elsewhere).
 * Every text taken from the question into the input (a query, a topic, a published text) is an
 * {@link excerpt} of at most 200 characters.
 * @param request - the request (its `tools` and `toolChoice`)
 * @param question - the last user message (as much of it as the model reads)
 * @param cut - whether `question` is the start of a longer message
 * @returns the call, or undefined
 */
export function planBuiltinCall(request: ChatRequest, question: string, cut = false): PlannedBuiltinCall | undefined {
  const choice = request.toolChoice ?? 'auto';
  if (choice === 'none' || typeof choice === 'object' || question === '') return undefined;
  const offered = new Set((request.tools ?? []).map((tool) => tool.name));
  // A question that names another offered tool exactly ("use everything__echo", an MCP server's
  // tool) is that tool's, even when it also looks like arithmetic or a docs question.
  if ([...offered].some((name) => !BUILTIN_NAMES.has(name) && namesToolExactly(question, name))) return undefined;
  // Publishing is asked for in so many words; it comes first so that numbers in the message are not taken for arithmetic.
  if (offered.has('publish_event') && PUBLISH.test(question)) return { toolName: 'publish_event', input: publishInput(question), reason: 'publish' };
  const expression = offered.has('calculator') ? findExpression(question, cut) : undefined;
  if (expression !== undefined) return { toolName: 'calculator', input: { expression }, reason: 'arithmetic' };
  if (offered.has('generate_report') && REPORT.test(question)) {
    return { toolName: 'generate_report', input: { topic: reportTopic(question) }, reason: 'report' };
  }
  if (offered.has('analyze_data') && ANALYZE.test(question) && DATA.test(question)) {
    return { toolName: 'analyze_data', input: { dataset: 'sales', question: excerpt(question) }, reason: 'analysis' };
  }
  if (offered.has('search_docs')) {
    if (SEARCH.test(question)) return { toolName: 'search_docs', input: { query: searchQuery(question) }, reason: 'search' };
    if (searchDocs(question, { limit: 1 }).length > 0) return { toolName: 'search_docs', input: { query: excerpt(question) }, reason: 'docs' };
  }
  return undefined;
}
