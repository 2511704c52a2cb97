/**
 * The bundled docs: sluice's own documentation as Markdown files in `knowledge/en` and
 * `knowledge/zh`, one file per topic, the same topics in both languages. The `search_docs` tool
 * indexes them and the local demo model answers from them; nothing else holds this knowledge.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The languages of the docs. */
export type DocLanguage = 'en' | 'zh';

/** One Markdown document of the bundled docs. */
export interface BundledDoc {
  /** The topic: the file name without `.md`, the same in both languages (`backpressure`). */
  id: string;
  language: DocLanguage;
  /** The `# ` heading. */
  title: string;
  /** Search keywords from the `<!-- tags: … -->` line. */
  tags: readonly string[];
  /** The Markdown after the heading. */
  body: string;
  /** The body's prose lines, without code blocks: one sentence per line. */
  sentences: readonly string[];
  /** The first code block, if any. */
  example?: { lang: string; code: string };
  /** The file within the package, `knowledge/en/backpressure.md`. */
  path: string;
}

/** The folder of the docs: `knowledge/` at the package root, from `src/…` as from `dist/…`. */
export const BUNDLED_DOCS_DIR: URL = new URL('../../../knowledge/', import.meta.url);

const TAGS = /^<!--\s*tags:(.*?)-->\s*$/;
const CODE_BLOCK = /```(\w*)\n([\s\S]*?)\n```/;

/**
 * Parses one Markdown doc.
 * @param id - its topic id
 * @param language - its language
 * @param markdown - the file's text
 * @returns the doc
 * @throws Error when the file has no `# ` heading
 */
export function parseDoc(id: string, language: DocLanguage, markdown: string): BundledDoc {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let tags: string[] = [];
  const tagLine = TAGS.exec(lines[0] ?? '');
  if (tagLine) {
    tags = (tagLine[1] ?? '').split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
    lines.shift();
  }
  const headingAt = lines.findIndex((line) => line.startsWith('# '));
  if (headingAt < 0) throw new Error(`The doc knowledge/${language}/${id}.md has no \`# \` heading.`);
  const title = (lines[headingAt] as string).slice(2).trim();
  const body = lines.slice(headingAt + 1).join('\n').trim();
  const code = CODE_BLOCK.exec(body);
  const prose = body.replace(/```[\s\S]*?```/g, '');
  const sentences = prose.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const doc: BundledDoc = { id, language, title, tags, body, sentences, path: `knowledge/${language}/${id}.md` };
  if (code) doc.example = { lang: code[1] || 'text', code: code[2] ?? '' };
  return doc;
}

/**
 * Reads every bundled doc, English then Chinese, each in file-name order.
 * @param dir - the folder with `en/` and `zh/` @defaultValue {@link BUNDLED_DOCS_DIR}
 * @returns the docs
 */
export function readBundledDocs(dir: URL = BUNDLED_DOCS_DIR): BundledDoc[] {
  const docs: BundledDoc[] = [];
  for (const language of ['en', 'zh'] as const) {
    const folder = new URL(`${language}/`, dir);
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.md')).sort()) {
      docs.push(parseDoc(file.slice(0, -3), language, readFileSync(new URL(file, folder), 'utf8')));
    }
  }
  return docs;
}

let cached: readonly BundledDoc[] | undefined;

/**
 * The bundled docs, read once on first use.
 * @returns the docs, English then Chinese
 */
export function bundledDocs(): readonly BundledDoc[] {
  cached ??= Object.freeze(readBundledDocs());
  return cached;
}
