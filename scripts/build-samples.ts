/**
 * Part of `npm run build`: copies samples/ to dist/samples/ (what GET /v1/files/:name serves by
 * default) and writes dist/samples/large-sample.bin, 64 MiB of deterministic bytes for the page's
 * large download. Written in 1 MiB blocks, so the build's memory stays small.
 */
import { copyFile, mkdir, open, readdir } from 'node:fs/promises';

const from = new URL('../samples/', import.meta.url);
const to = new URL('../dist/samples/', import.meta.url);
const LARGE_BYTES = 64 * 1024 * 1024;
const BLOCK = 1024 * 1024;

await mkdir(to, { recursive: true });
for (const name of await readdir(from)) {
  if (name !== 'README.md') await copyFile(new URL(name, from), new URL(name, to));
}
const block = new Uint8Array(BLOCK);
const file = await open(new URL('large-sample.bin', to), 'w');
try {
  for (let offset = 0; offset < LARGE_BYTES; offset += BLOCK) {
    // Each byte is a function of its offset, so a client can check any range it received.
    for (let i = 0; i < BLOCK; i++) block[i] = (offset + i) % 251;
    await file.write(block);
  }
} finally {
  await file.close();
}
