/**
 * How the local demo model answers once tool results are back in the conversation: from the
 * built-in tools' outputs (the calculator's exact value, the search hits, the statistics, the
 * report), or a generic summary of any other tool's output.
 *
 * @module
 */
import type { AnswerLanguage, PendingToolResult } from './read-conversation.ts';
import { excerpt, summarizeToolResult, truncate } from './summarize-tool-result.ts';

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function calculatorAnswer(output: Json, language: AnswerLanguage): string | undefined {
  const expression = str(output['expression']);
  const value = str(output['value']);
  if (expression === undefined || value === undefined) return undefined;
  if (output['exact'] === false) {
    const fraction = str(output['fraction']);
    return language === 'zh'
      ? `${expression} ≈ ${value}${fraction === undefined ? '' : `（精确值为 ${fraction}）`}`
      : `${expression} ≈ ${value}${fraction === undefined ? '' : ` (exactly ${fraction})`}`;
  }
  return `${expression} = ${value}`;
}

function searchAnswer(output: Json, language: AnswerLanguage): { text: string; cited: string[] } | undefined {
  const hits = output['hits'];
  if (!Array.isArray(hits)) return undefined;
  const query = str(output['query']) ?? '';
  const valid = hits.filter(isRecord).filter((hit) => str(hit['id']) !== undefined && str(hit['title']) !== undefined);
  if (valid.length === 0) {
    return {
      text: language === 'zh' ? `文档里没有找到与“${truncate(query, 80)}”相关的内容，我不想编造答案。` : `The docs have nothing on “${truncate(query, 80)}”, and I'd rather not make an answer up.`,
      cited: [],
    };
  }
  const [first, ...rest] = valid as Json[];
  const blocks = [`**${str(first?.['title'])}**\n${str(first?.['snippet']) ?? ''}`];
  for (const hit of rest.slice(0, 2)) {
    blocks.push(language === 'zh' ? `**另见：${str(hit['title'])}**——${str(hit['snippet']) ?? ''}` : `**See also: ${str(hit['title'])}.** ${str(hit['snippet']) ?? ''}`);
  }
  const cited = valid.slice(0, 3).map((hit) => `\`${str(hit['id'])}\`${language === 'zh' ? `（${str(hit['title'])}）` : ` (${str(hit['title'])})`}`);
  return { text: blocks.join('\n\n'), cited };
}

function money(value: unknown): string {
  return typeof value === 'number' ? value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : '?';
}

function analysisAnswer(output: Json, language: AnswerLanguage): string | undefined {
  const totals = output['totals'];
  const range = output['dateRange'];
  if (!isRecord(totals) || !isRecord(range)) return undefined;
  const dataset = str(output['dataset']) ?? 'sales';
  const highlights = Array.isArray(output['highlights']) ? output['highlights'].filter((h): h is string => typeof h === 'string') : [];
  const regions = Array.isArray(output['revenueByRegion']) ? output['revenueByRegion'].filter(isRecord).slice(0, 4) : [];
  const regionLines = regions.map((r) => `- ${str(r['name'])}: ${money(r['revenue'])} (${((Number(r['share']) || 0) * 100).toFixed(1)}%)`);
  if (language === 'zh') {
    return [
      `我分析了 \`${dataset}\` 数据集：${String(output['rows'])} 行，时间从 ${str(range['from'])} 到 ${str(range['to'])}。` +
        `总销售额 ${money(totals['revenue'])}，共 ${String(totals['orders'])} 笔订单，平均每单 ${money(totals['averageOrderValue'])}。`,
      highlights.map((h) => `- ${h}`).join('\n'),
      regionLines.length > 0 ? `按地区的销售额：\n${regionLines.join('\n')}` : '',
    ].filter((block) => block !== '').join('\n\n');
  }
  return [
    `I analyzed the \`${dataset}\` dataset: ${String(output['rows'])} rows from ${str(range['from'])} to ${str(range['to'])}. ` +
      `Total revenue is ${money(totals['revenue'])} from ${String(totals['orders'])} orders (${money(totals['averageOrderValue'])} per order on average).`,
    highlights.map((h) => `- ${h}`).join('\n'),
    regionLines.length > 0 ? `Revenue by region:\n${regionLines.join('\n')}` : '',
  ].filter((block) => block !== '').join('\n\n');
}

function reportAnswer(output: Json, language: AnswerLanguage): string | undefined {
  const markdown = str(output['markdown']);
  if (markdown === undefined) return undefined;
  const sections = Array.isArray(output['sections']) ? output['sections'].length : 0;
  const head = language === 'zh' ? `报告写好了（${sections} 个章节，内容来自文档）：` : `Here is the report (${sections} sections, written from the docs):`;
  return `${head}\n\n${markdown.trim()}`;
}

/**
 * The result of a call a person did not approve starts so (the agent loop's `deniedOutput`); the
 * reason follows in parentheses.
 */
const DENIED = /^Denied:.*?(?:\(reason: (.*)\))?, so it did not run/s;

function deniedAnswer(toolName: string, output: unknown, language: AnswerLanguage): string | undefined {
  if (typeof output !== 'string') return undefined;
  const match = DENIED.exec(output);
  if (match === null) return undefined;
  const reason = match[1] === undefined ? undefined : excerpt(match[1]);
  const name = `\`${toolName}\``;
  if (language === 'zh') {
    const why = reason === 'timeout' ? '（等待批准超时）' : reason === undefined ? '' : `（原因：${reason}）`;
    return `${name} 的调用没有得到批准${why}，所以我没有执行它${toolName === 'publish_event' ? '，什么也没有发布' : ''}。需要的话，可以再让我试一次。`;
  }
  const why = reason === 'timeout' ? ' (nobody answered in time)' : reason === undefined ? '' : ` (reason: ${reason})`;
  return `The call of ${name} was not approved${why}, so I did not run it${toolName === 'publish_event' ? ' and nothing was published' : ''}. Ask again if you want me to try once more.`;
}

function publishAnswer(output: Json, language: AnswerLanguage): string | undefined {
  const id = str(output['id']);
  if (id === undefined) return undefined;
  return language === 'zh' ? `已批准并发布：事件 id 为 \`${id}\`，订阅该主题的每个客户端都已收到。` : `Approved and published: the event's id is \`${id}\`; every subscriber of the topic has it now.`;
}

/** The answer to a conversation's pending tool results. */
export interface ToolResultsAnswer {
  text: string;
  /** `` `en/backpressure` (Backpressure) ``-style citations of the search hits used. */
  cited: string[];
  /** Whether every result came from a built-in tool this module understands. */
  understood: boolean;
}

/**
 * Answers from tool results: `calculator` → `17*23 = 391`; `search_docs` → the best hit's
 * snippet, two related hits, and the hits cited; `analyze_data` → totals, highlights and revenue
 * by region; `generate_report` → the report itself; a failed tool → what failed; any other tool
 * → a generic summary of its output.
 * @param results - the tool results after the last user message
 * @param language - the answer's language
 * @returns the text and citations
 */
export function answerToolResults(results: readonly PendingToolResult[], language: AnswerLanguage): ToolResultsAnswer {
  const blocks: string[] = [];
  const cited: string[] = [];
  let understood = true;
  for (const result of results) {
    const output = result.output;
    let block: string | undefined = result.isError === true ? deniedAnswer(result.toolName, output, language) : undefined;
    if (result.isError !== true && isRecord(output)) {
      switch (result.toolName) {
        case 'calculator':
          block = calculatorAnswer(output, language);
          break;
        case 'search_docs': {
          const answer = searchAnswer(output, language);
          if (answer !== undefined) {
            block = answer.text;
            cited.push(...answer.cited);
          }
          break;
        }
        case 'analyze_data':
          block = analysisAnswer(output, language);
          break;
        case 'generate_report':
          block = reportAnswer(output, language);
          break;
        case 'publish_event':
          block = publishAnswer(output, language);
          break;
      }
    }
    if (block === undefined) {
      understood = false;
      block = summarizeToolResult(result, language);
    }
    blocks.push(block);
  }
  return { text: blocks.join('\n\n'), cited, understood };
}
