/**
 * The `generate_report` tool: a multi-section Markdown report written from the docs that
 * `search_docs` finds, with `progress` per section and `data` per finished section.
 *
 * @module
 */
import { importOptional } from '../../core/require-optional.ts';
import { sleep } from '../../core/sleep.ts';
import type { BundledDoc } from '../../providers/local/bundled-docs.ts';
import { detectLanguage } from '../../providers/local/read-conversation.ts';
import { searchDocs } from '../../providers/local/search-docs.ts';
import { tool } from '../tool.ts';
import type { AgentTool } from '../types.ts';

const { z } = await importOptional('zod', () => import('zod'));

/** One section of a report. */
export interface ReportSection {
  title: string;
  markdown: string;
  /** The doc it was written from: `en/backpressure`. */
  sourceId: string;
}

/** What `generate_report` returns. */
export interface GenerateReportOutput {
  topic: string;
  title: string;
  /** The whole report in Markdown. */
  markdown: string;
  sections: ReportSection[];
}

/** Options of {@link createGenerateReportTool}. */
export interface GenerateReportToolOptions {
  /** The docs to write from. @defaultValue the bundled docs */
  docs?: readonly BundledDoc[];
  /**
   * A pause before each section, so a demo shows the sections arrive one by one. `0`: no pause.
   * @defaultValue 150
   */
  paceMs?: number;
}

const DEFAULT_SECTIONS = 4;
const MAX_SECTIONS = 8;

type Input = { topic: string; sections?: number | string[] | undefined };

/**
 * Creates the `generate_report` tool: `{topic, sections?}`, where `sections` is a list of section
 * headings or how many sections to write (default 4, at most 8). Each section comes from the best
 * doc for the topic (and its heading) not used yet: its lead sentences, its example, its source.
 * Yields `progress` (sections written of the total), a `source` per doc used, and `data`
 * (`report-section`) per finished section; returns the report. Fails when no doc matches.
 * @param options - the docs and the demo pace
 * @returns the tool
 */
export function createGenerateReportTool(options: GenerateReportToolOptions = {}): AgentTool<Input, GenerateReportOutput> {
  const paceMs = options.paceMs ?? 150;
  const docsOption = options.docs === undefined ? {} : { docs: options.docs };
  return tool({
    name: 'generate_report',
    // Idempotent: it composes text from its input and keeps nothing; a run taken over runs it again.
    idempotent: true,
    description: "Writes a multi-section Markdown report on a topic from sluice's documentation, section by section.",
    input: z.object({
      topic: z.string().min(1).max(300).describe('What the report is about, in English or Chinese.'),
      sections: z
        .union([z.number().int().min(1).max(MAX_SECTIONS), z.array(z.string().min(1).max(120)).min(1).max(MAX_SECTIONS)])
        .optional()
        .describe(`Section headings, or how many sections to write (default ${DEFAULT_SECTIONS}).`),
    }),
    async *execute({ topic, sections }, { signal }) {
      const language = detectLanguage(topic);
      const zh = language === 'zh';
      const headings = Array.isArray(sections) ? sections : undefined;
      const count = headings?.length ?? (typeof sections === 'number' ? sections : DEFAULT_SECTIONS);
      // The plan: one doc per section, never the same doc twice.
      const used = new Set<string>();
      const plan: { heading: string; doc: BundledDoc }[] = [];
      const topicHits = searchDocs(topic, { limit: MAX_SECTIONS, language, ...docsOption });
      for (let i = 0; i < count; i++) {
        const heading = headings?.[i];
        const hits = heading === undefined ? topicHits : [...searchDocs(`${topic} ${heading}`, { limit: MAX_SECTIONS, language, ...docsOption }), ...topicHits];
        const hit = hits.find((candidate) => !used.has(candidate.doc.id));
        if (hit === undefined) break;
        used.add(hit.doc.id);
        plan.push({ heading: heading ?? hit.doc.title, doc: hit.doc });
      }
      if (plan.length === 0) {
        throw new Error(zh ? `文档里没有关于“${topic}”的内容，无法撰写报告。` : `The docs have nothing on “${topic}” to write a report from.`);
      }
      const title = zh ? `报告：${topic}` : `Report: ${topic}`;
      const written: ReportSection[] = [];
      yield { type: 'progress', done: 0, total: plan.length, message: zh ? '规划章节' : 'Planning the sections' };
      for (const [index, { heading, doc }] of plan.entries()) {
        if (paceMs > 0) await sleep(paceMs, signal);
        const sourceId = `${doc.language}/${doc.id}`;
        yield { type: 'source', id: sourceId, title: doc.title, snippet: doc.sentences[0] ?? '' };
        const lead = doc.sentences.slice(0, 3).join(zh ? '' : ' ');
        const rest = doc.sentences.slice(3);
        const blocks = [`## ${index + 1}. ${heading}`, lead];
        if (rest.length > 0) blocks.push(rest.map((sentence) => `- ${sentence}`).join('\n'));
        if (doc.example !== undefined) blocks.push(`\`\`\`${doc.example.lang}\n${doc.example.code}\n\`\`\``);
        blocks.push(zh ? `*来源：${doc.title}（\`${doc.path}\`）*` : `*Source: ${doc.title} (\`${doc.path}\`)*`);
        const section: ReportSection = { title: heading, markdown: blocks.join('\n\n'), sourceId };
        written.push(section);
        yield { type: 'data', name: 'report-section', value: { index, ...section } };
        yield { type: 'progress', done: index + 1, total: plan.length, message: zh ? `已完成：${heading}` : `Wrote “${heading}”` };
      }
      const intro = zh
        ? `本报告根据 sluice 文档中与“${topic}”最相关的 ${written.length} 篇文档整理而成。`
        : `This report draws on the ${written.length} documents of sluice's docs that best match “${topic}”.`;
      const sourcesList = plan.map(({ doc }) => `- ${doc.title} (\`${doc.path}\`)`).join('\n');
      const markdown = [`# ${title}`, intro, ...written.map((s) => s.markdown), `## ${zh ? '参考文档' : 'Sources'}`, sourcesList].join('\n\n') + '\n';
      return { topic, title, markdown, sections: written };
    },
  });
}
