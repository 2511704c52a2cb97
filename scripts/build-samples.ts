/**
 * Part of `npm run build`: copies samples/ to dist/samples/, what GET /v1/files/:name serves by
 * default. The page's 64 MiB download, `large-sample.bin`, is not written here (it would make the
 * package 70 MB): the server writes it on its first request (src/server/routes/sample-files.ts).
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';

const from = new URL('../samples/', import.meta.url);
const to = new URL('../dist/samples/', import.meta.url);

await mkdir(to, { recursive: true });
for (const name of await readdir(from)) {
  if (name !== 'README.md') await copyFile(new URL(name, from), new URL(name, to));
}
