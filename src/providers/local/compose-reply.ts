/**
 * Composes the local demo model's whole reply (thinking, text, optional tool call) from a request.
 * Pure and deterministic: the same request always gives the same reply.
 *
 * @module
 */
import type { ChatRequest } from '../types.ts';
import { KNOWLEDGE_BASE, type KnowledgeEntry } from './knowledge-base.ts';
import { planToolCall } from './plan-tool-call.ts';
import { readConversation, type AnswerLanguage, type ConversationReading } from './read-conversation.ts';
import { searchKnowledgeBase, tokenizeForSearch, type KnowledgeHit } from './search-knowledge-base.ts';
import { summarizeToolResult, truncate } from './summarize-tool-result.ts';

/** What the demo model will say, before it is cut into tokens. */
export interface LocalReply {
  language: AnswerLanguage;
  /** The visible thinking: a short plan. */
  reasoning: string;
  /** The answer text, never empty (before a tool call it says which tool it calls). */
  text: string;
  /** The tool call that ends this turn, if any. */
  toolCall?: { toolName: string; input: Record<string, unknown> };
  /** Ids of the knowledge-base entries the text draws on. */
  citations: string[];
}

/** The sentence by which the demo model says what it is; given once per conversation. */
export const DEMO_NOTICE: Readonly<Record<AnswerLanguage, string>> = {
  en:
    "I'm sluice's built-in local demo model, not an LLM: I answer from a small knowledge base that ships with sluice. " +
    'To chat with a real model, set `OPENAI_API_KEY` (or `ANTHROPIC_API_KEY`) and `SLUICE_MODEL=openai:gpt-4o-mini` ' +
    '(or `anthropic:claude-sonnet-4-5`), then restart.',
  zh:
    '我是 sluice 内置的本地演示模型，不是大语言模型：我只根据 sluice 自带的小知识库作答。' +
    '要使用真正的模型，请设置 `OPENAI_API_KEY`（或 `ANTHROPIC_API_KEY`）和 `SLUICE_MODEL=openai:gpt-4o-mini`' +
    '（或 `anthropic:claude-sonnet-4-5`）后重启。',
};

/** Entries after the first are cited when they score at least this share of the best score. */
const RELATED_SHARE = 0.5;
const MAX_ENTRIES = 3;
/** Questions about the model itself, made only of stop words, that the search cannot see. */
const SELF_QUESTION = /\b(?:who|what) are you\b|你是谁|你是什么/iu;
const GREETING = /^(?:hi|hello|hey|hallo|yo|howdy|good (?:morning|afternoon|evening)|help|你好|您好|嗨|哈喽|哈啰|在吗|帮助)(?![\p{L}\p{N}])/iu;

/** Both languages quote with curly quotes; long questions are cut. */
const quote = (text: string): string => `“${truncate(text, 80)}”`;

function title(entry: KnowledgeEntry, language: AnswerLanguage): string {
  return language === 'zh' ? entry.zh.title : entry.title;
}

function body(entry: KnowledgeEntry, language: AnswerLanguage): string {
  return language === 'zh' ? entry.zh.text : entry.text;
}

/** The first sentence of an entry's text: its lead. */
function lead(entry: KnowledgeEntry, language: AnswerLanguage): string {
  const text = body(entry, language);
  const match = language === 'zh' ? /^.+?[。！？]/u.exec(text) : /^.+?[.!?](?=\s+[A-Z`"“(]|$)/u.exec(text);
  return match ? match[0] : text;
}

function list(items: string[], language: AnswerLanguage): string {
  if (language === 'zh') return items.join('、');
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

function citationLine(entries: KnowledgeEntry[], language: AnswerLanguage, extra?: string): string {
  const cited = entries.map((entry) => (language === 'zh' ? `\`${entry.id}\`（${entry.zh.title}）` : `\`${entry.id}\` (${entry.title})`));
  const parts = extra === undefined ? cited : [extra, ...cited];
  return language === 'zh' ? `参考：${parts.join('、')}。` : `Sources: ${parts.join(', ')}.`;
}

function withNotice(reading: ConversationReading, text: string): string {
  return reading.introduced ? text : `${DEMO_NOTICE[reading.language]}\n\n${text}`;
}

function relevantHits(question: string): KnowledgeHit[] {
  const hits = searchKnowledgeBase(question, KNOWLEDGE_BASE, { limit: MAX_ENTRIES });
  if (hits.length === 0 && SELF_QUESTION.test(question)) {
    const self = KNOWLEDGE_BASE.find((entry) => entry.id === 'local-demo-model');
    return self === undefined ? [] : [{ entry: self, score: 1, matchedTerms: [] }];
  }
  const best = hits[0]?.score ?? 0;
  return hits.filter((hit) => hit.score >= best * RELATED_SHARE);
}

function entryAnswer(hits: KnowledgeHit[], language: AnswerLanguage): string {
  const [first, ...rest] = hits.map((hit) => hit.entry);
  if (first === undefined) return '';
  const blocks = [`**${title(first, language)}**\n${body(first, language)}`];
  if (first.snippet !== undefined) blocks.push(`\`\`\`${first.snippet.lang}\n${first.snippet.code}\n\`\`\``);
  for (const entry of rest) {
    blocks.push(language === 'zh' ? `**另见：${entry.zh.title}**——${lead(entry, language)}` : `**See also: ${entry.title}.** ${lead(entry, language)}`);
  }
  return blocks.join('\n\n');
}

function topicList(language: AnswerLanguage): string {
  return KNOWLEDGE_BASE.map((entry) => `- ${title(entry, language)}`).join('\n');
}

function reasoningForHits(reading: ConversationReading, hits: KnowledgeHit[], toolsIgnored: string[]): string {
  const { question, language } = reading;
  const [first, ...rest] = hits;
  const n = KNOWLEDGE_BASE.length;
  if (first === undefined) return '';
  const related = rest.map((hit) => quote(title(hit.entry, language)));
  if (language === 'zh') {
    return [
      `用户问：${quote(question)}。`,
      `我在知识库的 ${n} 个条目里检索，最相关的是${quote(first.entry.zh.title)}`,
      related.length > 0 ? `，${list(related, 'zh')}也相关。` : '。',
      toolsIgnored.length > 0 ? `虽然提供了工具（${toolsIgnored.join('、')}），但这个问题用知识库就能回答，不需要调用。` : '',
      `我先用${quote(first.entry.zh.title)}直接回答`,
      first.entry.snippet !== undefined ? '，附上示例代码' : '',
      related.length > 0 ? '，再简要补充相关条目' : '',
      '，最后注明参考的条目。',
    ].join('');
  }
  const terms = shownTerms(question, first.matchedTerms).map((term) => `“${term}”`);
  const plan = [`lead with ${quote(first.entry.title)}`];
  if (first.entry.snippet !== undefined) plan.push('show its example');
  if (related.length > 0) plan.push('add the related entries briefly');
  plan.push('cite the entries I used');
  return [
    `The user asks ${quote(question)}. `,
    terms.length > 0 ? `Searching the ${n} knowledge-base entries for ${list(terms, 'en')}: ` : `Of the ${n} knowledge-base entries, `,
    `${quote(first.entry.title)} matches best`,
    related.length > 0 ? `, and ${list(related, 'en')} ${related.length === 1 ? 'is' : 'are'} related. ` : '. ',
    toolsIgnored.length > 0 ? `Tools are offered (${toolsIgnored.join(', ')}), but the knowledge base answers this, so no tool call is needed. ` : '',
    `I'll ${list(plan, 'en')}.`,
  ].join('');
}

/** The question's own words behind the matched (stemmed) terms, for the reasoning: "encoding", not "encod". */
function shownTerms(question: string, matched: readonly string[]): string[] {
  const wanted = new Set(matched);
  const shown: string[] = [];
  for (const [word] of question.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const term = tokenizeForSearch(word)[0];
    if (term !== undefined && wanted.delete(term)) shown.push(word);
  }
  return shown.slice(0, 4);
}

/**
 * The question without the words of the tools' names: "Search the docs for backpressure" asked of
 * `search_docs` is about backpressure, not about searching.
 */
function withoutWords(question: string, toolNames: readonly string[]): string {
  const drop = new Set(toolNames.flatMap((name) => tokenizeForSearch(name.replace(/[_\-.]+|(?<=[a-z])(?=[A-Z])/g, ' '))));
  return question
    .split(/(?<=[^\p{L}\p{N}])|(?=[^\p{L}\p{N}])/u)
    .filter((word) => !drop.has(tokenizeForSearch(word)[0] ?? ''))
    .join('');
}

function composeToolAnswer(reading: ConversationReading): LocalReply {
  const { question, language, toolResults } = reading;
  const summaries = toolResults.map((result) => summarizeToolResult(result, language));
  const hits = relevantHits(withoutWords(question, toolResults.map((result) => result.toolName))).slice(0, 1);
  const entry = hits[0]?.entry;
  const names = [...new Set(toolResults.map((result) => `\`${result.toolName}\``))];
  const failed = toolResults.some((result) => result.isError === true);
  const blocks = [...summaries];
  if (entry !== undefined) {
    blocks.push(language === 'zh' ? `结合知识库：${lead(entry, 'zh')}` : `From my knowledge base: ${lead(entry, 'en')}`);
  }
  const toolCitation = language === 'zh' ? `工具 ${list(names, 'zh')} 的结果` : `the result of ${list(names, 'en')}`;
  blocks.push(citationLine(entry === undefined ? [] : [entry], language, toolCitation));
  const reasoning =
    language === 'zh'
      ? `工具 ${list(names, 'zh')} 已返回结果${failed ? '（其中有失败）' : ''}。用户最初的问题是${quote(question)}，` +
        `我把结果整理成要点${entry !== undefined ? `，再用知识库条目${quote(entry.zh.title)}补充一句背景` : ''}，并注明出处。`
      : `The ${list(names, 'en')} tool ${toolResults.length === 1 ? 'call has' : 'calls have'} returned${failed ? ' (with a failure)' : ''}. ` +
        `The user originally asked ${quote(question)}, so I'll summarise the result${entry !== undefined ? `, add one line of context from ${quote(entry.title)}` : ''}, and say where it came from.`;
  return {
    language,
    reasoning,
    text: withNotice(reading, blocks.join('\n\n')),
    citations: entry === undefined ? [] : [entry.id],
  };
}

/**
 * Composes the demo model's reply to `request`: after a tool result, a summary of it; for a
 * question a tool should answer, a short sentence and the tool call; for a question the knowledge
 * base answers, the best entry with its example, related entries, and the ids it drew on; for a
 * greeting or an unknown question, what the model can explain. The reply is in Chinese when the
 * question is (see `detectLanguage`), and says once per conversation that this is a demo model.
 * @param request - the chat request
 * @returns the reply
 * @throws TypeError when `toolChoice` names a tool that is not offered
 */
export function composeReply(request: ChatRequest): LocalReply {
  const reading = readConversation(request.messages);
  const { question, language } = reading;
  if (reading.toolResults.length > 0) return composeToolAnswer(reading);

  const planned = planToolCall(request, question);
  if (planned !== undefined) {
    const name = `\`${planned.tool.name}\``;
    const why = {
      en: { forced: 'the request asks for it by name', named: 'the user names it', matched: 'its name and description fit the question', required: 'the request requires a tool call' },
      zh: { forced: '请求指定了它', named: '用户点名要用它', matched: '它的名称和描述与问题相符', required: '请求要求必须调用工具' },
    }[language][planned.reason];
    const input = JSON.stringify(planned.input);
    return {
      language,
      reasoning:
        language === 'zh'
          ? `用户问：${quote(question)}。可用的工具里 ${name} 能回答这个问题（${why}），所以我调用它，输入为 ${input}，等结果回来再作答。`
          : `The user asks ${quote(question)}. Of the offered tools, ${name} can answer this (${why}), so I'll call it with ${input} and answer once the result is back.`,
      text: withNotice(reading, language === 'zh' ? `我来调用 ${name} 工具查一下。` : `Let me call ${name} for that.`),
      toolCall: { toolName: planned.tool.name, input: planned.input },
      citations: [],
    };
  }

  const toolsIgnored = (request.tools ?? []).map((tool) => `\`${tool.name}\``);
  const hits = relevantHits(question);
  if (hits.length > 0) {
    const entries = hits.map((hit) => hit.entry);
    return {
      language,
      reasoning: reasoningForHits(reading, hits, toolsIgnored),
      text: withNotice(reading, `${entryAnswer(hits, language)}\n\n${citationLine(entries, language)}`),
      citations: entries.map((entry) => entry.id),
    };
  }

  const greeting = question === '' || GREETING.test(question);
  const notice = reading.introduced ? undefined : DEMO_NOTICE[language];
  if (language === 'zh') {
    const opening = greeting ? '你好！' : `知识库里没有关于${quote(question)}的条目，我不想编造答案。`;
    return {
      language,
      reasoning: greeting
        ? '用户在打招呼，没有具体问题。我先说明自己是演示模型，再列出能解释的主题，并给出示例问题。'
        : `用户问：${quote(question)}。知识库的 ${KNOWLEDGE_BASE.length} 个条目都不匹配，所以我如实说明，并列出能解释的主题。`,
      text: `${opening}${notice ?? ''}\n\n我可以解释这些主题：\n${topicList('zh')}\n\n试着问我：“什么是背压？”或“SSE 的 retry 字段有什么用？”`,
      citations: [],
    };
  }
  const opening = greeting ? 'Hello!' : `My knowledge base has no entry on ${quote(question)}, and I'd rather not make one up.`;
  return {
    language,
    reasoning: greeting
      ? "The user greets me without a question. I'll say what I am, list the topics I can explain and suggest a question to try."
      : `The user asks ${quote(question)}. None of the ${KNOWLEDGE_BASE.length} knowledge-base entries matches, so I'll say so honestly and list the topics I can explain.`,
    text: `${opening}${notice === undefined ? '' : ` ${notice}`}\n\nI can explain these topics:\n${topicList('en')}\n\nTry asking “What is backpressure?” or “How does resume with Last-Event-ID work?”.`,
    citations: [],
  };
}
