/**
 * `npm run bench`: runs every `bench/*.bench.ts` in turn and prints its markdown section.
 * Each bench module exports `bench(): Promise<string>` returning a section (`### title`, the
 * method in a sentence or two, then a table). Pass names to run some: `npm run bench -- parser`.
 * The heavy ones run child processes from `dist/` (`npm run build` first): `w5` (agent chats at
 * scale) and `multi` (three instances behind nginx on one Redis, one killed mid-answer: needs
 * nginx and redis-server; `MULTI_CLIENTS`, default 1,000).
 *
 * @module
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort();

console.log(`# sluice benchmarks\n\nNode ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
for (const file of files) {
  const module = (await import(new URL(file, import.meta.url).href)) as { bench: () => Promise<string> };
  console.log(await module.bench());
  console.log();
}
