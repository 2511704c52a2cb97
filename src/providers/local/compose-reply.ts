/**
 * Composes the local demo model's whole reply (thinking, text, optional tool call) from a request.
 * Pure and deterministic: the same request always gives the same reply. Its knowledge is the
 * bundled docs (`knowledge/`), searched with the same index as the `search_docs` tool.
 *
 * @module
 */
import type { ChatRequest } from '../types.ts';
import { answerToolResults } from './answer-tool-results.ts';
import { bundledDocs, type BundledDoc } from './bundled-docs.ts';
import { planBuiltinCall, type PlannedBuiltinCall } from './plan-builtin-call.ts';
import { planToolCall, type PlannedToolCall } from './plan-tool-call.ts';
import { readConversation, type AnswerLanguage, type ConversationReading } from './read-conversation.ts';
import { searchDocs, type DocHit } from './search-docs.ts';
import { excerpt, truncate } from './summarize-tool-result.ts';

/** What the demo model will say, before it is cut into tokens. */
export interface LocalReply {
  language: AnswerLanguage;
  /** The visible thinking: a short plan. */
  reasoning: string;
  /** The answer text, never empty (before a tool call it says which tool it calls). */
  text: string;
  /** The tool call that ends this turn, if any. */
  toolCall?: { toolName: string; input: Record<string, unknown> };
  /** Topic ids of the docs the text draws on. */
  citations: string[];
}

/** The sentence by which the demo model says what it is; given once per conversation. */
export const DEMO_NOTICE: Readonly<Record<AnswerLanguage, string>> = {
  en:
    "I'm sluice's built-in local demo model, not an LLM: I answer from the docs that ship with sluice and call its built-in tools. " +
    'To chat with a real model, set `OPENAI_API_KEY` (or `ANTHROPIC_API_KEY`) and `SLUICE_MODEL=openai:gpt-4o-mini` ' +
    '(or `anthropic:claude-haiku-4-5`), then restart.',
  zh:
    '我是 sluice 内置的本地演示模型，不是大语言模型：我只根据 sluice 自带的文档作答，并调用它的内置工具。' +
    '要使用真正的模型，请设置 `OPENAI_API_KEY`（或 `ANTHROPIC_API_KEY`）和 `SLUICE_MODEL=openai:gpt-4o-mini`' +
    '（或 `anthropic:claude-haiku-4-5`）后重启。',
};

/** Docs after the first are cited when they score at least this share of the best score. */
const RELATED_SHARE = 0.5;
const MAX_DOCS = 3;
/** Questions about the model itself, made only of stop words, that the search cannot see. */
const SELF_QUESTION = /\b(?:who|what) are you\b|你是谁|你是什么/iu;
const GREETING = /^(?:hi|hello|hey|hallo|yo|howdy|good (?:morning|afternoon|evening)|help|你好|您好|嗨|哈喽|哈啰|在吗|帮助)(?![\p{L}\p{N}])/iu;

/** Both languages quote with curly quotes; long questions are cut. */
const quote = (text: string): string => `“${truncate(text, 80)}”`;

/** The doc of a topic in the answer's language (every topic exists in both). */
function inLanguage(doc: BundledDoc, language: AnswerLanguage): BundledDoc {
  return bundledDocs().find((d) => d.id === doc.id && d.language === language) ?? doc;
}

function prose(doc: BundledDoc): string {
  return doc.sentences.join(doc.language === 'zh' ? '' : ' ');
}

function list(items: string[], language: AnswerLanguage): string {
  if (language === 'zh') return items.join('、');
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

function citationLine(cited: string[], language: AnswerLanguage): string {
  return language === 'zh' ? `参考：${cited.join('、')}。` : `Sources: ${cited.join(', ')}.`;
}

function cite(doc: BundledDoc, language: AnswerLanguage): string {
  return language === 'zh' ? `\`${doc.id}\`（${doc.title}）` : `\`${doc.id}\` (${doc.title})`;
}

function withNotice(reading: ConversationReading, text: string): string {
  return reading.introduced ? text : `${DEMO_NOTICE[reading.language]}\n\n${text}`;
}

function relevantDocs(question: string, language: AnswerLanguage): { doc: BundledDoc; hit: DocHit }[] {
  let hits = searchDocs(question, { limit: MAX_DOCS, language });
  if (hits.length === 0 && SELF_QUESTION.test(question)) {
    const self = bundledDocs().find((doc) => doc.id === 'local-demo-model');
    if (self !== undefined) hits = [{ doc: self, score: 1, snippet: self.sentences[0] ?? '', matchedTerms: [] }];
  }
  const best = hits[0]?.score ?? 0;
  return hits.filter((hit) => hit.score >= best * RELATED_SHARE).map((hit) => ({ doc: inLanguage(hit.doc, language), hit }));
}

function docsAnswer(docs: BundledDoc[], language: AnswerLanguage): string {
  const [first, ...rest] = docs;
  if (first === undefined) return '';
  const blocks = [`**${first.title}**\n${prose(first)}`];
  if (first.example !== undefined) blocks.push(`\`\`\`${first.example.lang}\n${first.example.code}\n\`\`\``);
  for (const doc of rest) {
    blocks.push(language === 'zh' ? `**另见：${doc.title}**——${doc.sentences[0] ?? ''}` : `**See also: ${doc.title}.** ${doc.sentences[0] ?? ''}`);
  }
  return blocks.join('\n\n');
}

function topicList(language: AnswerLanguage): string {
  return bundledDocs()
    .filter((doc) => doc.language === language)
    .map((doc) => `- ${doc.title}`)
    .join('\n');
}

function reasoningForDocs(reading: ConversationReading, docs: { doc: BundledDoc; hit: DocHit }[], toolsIgnored: string[]): string {
  const { question, language } = reading;
  const [first, ...rest] = docs;
  if (first === undefined) return '';
  const related = rest.map(({ doc }) => quote(doc.title));
  if (language === 'zh') {
    return [
      `用户问：${quote(question)}。`,
      `我在内置文档里检索，最相关的是${quote(first.doc.title)}`,
      related.length > 0 ? `，${list(related, 'zh')}也相关。` : '。',
      toolsIgnored.length > 0 ? `虽然提供了工具（${toolsIgnored.join('、')}），但这个问题用文档就能回答，不需要调用。` : '',
      `我先用${quote(first.doc.title)}直接回答`,
      first.doc.example !== undefined ? '，附上示例代码' : '',
      related.length > 0 ? '，再简要补充相关文档' : '',
      '，最后注明参考的文档。',
    ].join('');
  }
  const terms = first.hit.matchedTerms.slice(0, 4).map((term) => `“${term}”`);
  const plan = [`lead with ${quote(first.doc.title)}`];
  if (first.doc.example !== undefined) plan.push('show its example');
  if (related.length > 0) plan.push('add the related docs briefly');
  plan.push('cite the docs I used');
  return [
    `The user asks ${quote(question)}. `,
    terms.length > 0 ? `Searching the bundled docs for ${list(terms, 'en')}: ` : 'Of the bundled docs, ',
    `${quote(first.doc.title)} matches best`,
    related.length > 0 ? `, and ${list(related, 'en')} ${related.length === 1 ? 'is' : 'are'} related. ` : '. ',
    toolsIgnored.length > 0 ? `Tools are offered (${toolsIgnored.join(', ')}), but the docs answer this, so no tool call is needed. ` : '',
    `I'll ${list(plan, 'en')}.`,
  ].join('');
}

function composeToolAnswer(reading: ConversationReading): LocalReply {
  const { question, language, toolResults } = reading;
  const answer = answerToolResults(toolResults, language);
  const names = [...new Set(toolResults.map((result) => `\`${result.toolName}\``))];
  const failed = toolResults.some((result) => result.isError === true);
  const blocks = [answer.text];
  if (answer.cited.length > 0) blocks.push(citationLine(answer.cited, language));
  else if (!answer.understood) blocks.push(citationLine([language === 'zh' ? `工具 ${list(names, 'zh')} 的结果` : `the result of ${list(names, 'en')}`], language));
  const reasoning =
    language === 'zh'
      ? `工具 ${list(names, 'zh')} 已返回结果${failed ? '（其中有失败）' : ''}。用户最初的问题是${quote(question)}，我根据结果作答${answer.cited.length > 0 ? '，并注明引用的文档' : ''}。`
      : `The ${list(names, 'en')} tool ${toolResults.length === 1 ? 'call has' : 'calls have'} returned${failed ? ' (with a failure)' : ''}. ` +
        `The user asked ${quote(question)}, so I'll answer from the result${answer.cited.length > 0 ? ' and cite the docs it found' : ''}.`;
  return { language, reasoning, text: withNotice(reading, blocks.join('\n\n')), citations: answer.cited };
}

const BUILTIN_WHY = {
  en: {
    arithmetic: 'the question has arithmetic in it, and the calculator computes it exactly',
    report: 'the user asks for a report',
    analysis: 'the user asks to analyze the data',
    search: 'the user asks to search the docs',
    docs: 'the docs cover this question',
    publish: 'the user asks to publish it; a person must approve the call first',
  },
  zh: {
    arithmetic: '问题里有算式，计算器能精确计算',
    report: '用户要一份报告',
    analysis: '用户要求分析数据',
    search: '用户要求检索文档',
    docs: '文档里有这个问题的答案',
    publish: '用户要求发布它；调用前需要有人批准',
  },
} as const;

const PLANNED_WHY = {
  en: { forced: 'the request asks for it by name', named: 'the user names it', matched: 'its name and description fit the question', required: 'the request requires a tool call' },
  zh: { forced: '请求指定了它', named: '用户点名要用它', matched: '它的名称和描述与问题相符', required: '请求要求必须调用工具' },
} as const;

function toolCallReply(reading: ConversationReading, toolName: string, input: Record<string, unknown>, why: string): LocalReply {
  const { question, language } = reading;
  const name = `\`${toolName}\``;
  // The input's texts are excerpts already; its JSON is cut too, so the thinking stays short whatever the schema.
  const json = excerpt(JSON.stringify(input), 400);
  return {
    language,
    reasoning:
      language === 'zh'
        ? `用户问：${quote(question)}。可用的工具里 ${name} 能回答这个问题（${why}），所以我调用它，输入为 ${json}，等结果回来再作答。`
        : `The user asks ${quote(question)}. Of the offered tools, ${name} can answer this (${why}), so I'll call it with ${json} and answer once the result is back.`,
    text: withNotice(reading, language === 'zh' ? `我来调用 ${name} 工具。` : `Let me call ${name} for that.`),
    toolCall: { toolName, input },
    citations: [],
  };
}

/**
 * Composes the demo model's reply to `request`: after tool results, an answer from them (the
 * calculator's exact value, the search hits, the statistics, the report); for a question a tool
 * should answer, a short sentence and the tool call (`calculator` for arithmetic, `generate_report`
 * for a report, `analyze_data` to analyze the data, `search_docs` to search and for questions the
 * docs answer, or any offered tool the question names or fits); without a fitting tool, the best
 * doc with its example, related docs, and the topics it drew on; for a greeting or an unknown
 * question, what it can explain. The reply is in Chinese when the question is (see
 * `detectLanguage`), and says once per conversation that this is a demo model.
 * @param request - the chat request
 * @returns the reply
 * @throws TypeError when `toolChoice` names a tool that is not offered
 */
export function composeReply(request: ChatRequest): LocalReply {
  const reading = readConversation(request.messages);
  const { question, language } = reading;
  if (reading.toolResults.length > 0) return composeToolAnswer(reading);

  const builtin: PlannedBuiltinCall | undefined = planBuiltinCall(request, question, reading.cut === true);
  if (builtin !== undefined) return toolCallReply(reading, builtin.toolName, builtin.input, BUILTIN_WHY[language][builtin.reason]);
  const planned: PlannedToolCall | undefined = planToolCall(request, question);
  if (planned !== undefined) return toolCallReply(reading, planned.tool.name, planned.input, PLANNED_WHY[language][planned.reason]);

  const toolsIgnored = (request.tools ?? []).map((tool) => `\`${tool.name}\``);
  const docs = relevantDocs(question, language);
  if (docs.length > 0) {
    return {
      language,
      reasoning: reasoningForDocs(reading, docs, toolsIgnored),
      text: withNotice(reading, `${docsAnswer(docs.map(({ doc }) => doc), language)}\n\n${citationLine(docs.map(({ doc }) => cite(doc, language)), language)}`),
      citations: docs.map(({ doc }) => doc.id),
    };
  }

  const greeting = question === '' || GREETING.test(question);
  const notice = reading.introduced ? undefined : DEMO_NOTICE[language];
  const count = bundledDocs().filter((doc) => doc.language === language).length;
  if (language === 'zh') {
    const opening = greeting ? '你好！' : `文档里没有关于${quote(question)}的内容，我不想编造答案。`;
    return {
      language,
      reasoning: greeting
        ? '用户在打招呼，没有具体问题。我先说明自己是演示模型，再列出能解释的主题，并给出示例问题。'
        : `用户问：${quote(question)}。内置的 ${count} 篇文档都不匹配，所以我如实说明，并列出能解释的主题。`,
      text: `${opening}${notice ?? ''}\n\n我可以解释这些主题：\n${topicList('zh')}\n\n试着问我：“什么是背压？”、“17*23 等于多少？”或“帮我分析一下销售数据”。`,
      citations: [],
    };
  }
  const opening = greeting ? 'Hello!' : `The docs have nothing on ${quote(question)}, and I'd rather not make an answer up.`;
  return {
    language,
    reasoning: greeting
      ? "The user greets me without a question. I'll say what I am, list the topics I can explain and suggest a question to try."
      : `The user asks ${quote(question)}. None of the ${count} bundled docs matches, so I'll say so honestly and list the topics I can explain.`,
    text: `${opening}${notice === undefined ? '' : ` ${notice}`}\n\nI can explain these topics:\n${topicList('en')}\n\nTry asking “What is backpressure?”, “What is 17*23?” or “Analyze the sales data”.`,
    citations: [],
  };
}
