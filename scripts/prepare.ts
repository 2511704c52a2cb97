/**
 * `npm install`'s build step (`prepare`): builds what `npm start` serves, unless the build is
 * already newer than every source it is made from. `npx sluice …` run inside a clone links the
 * package and runs `prepare` again: without this check that rebuilt everything (`rm -rf dist`
 * first), breaking a server running from the same clone for most of a minute.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');
const SOURCES = ['src', 'web', 'samples', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.web.json', 'vite.config.ts'];

/** The newest modification time under `path` (a file or a folder), in ms. */
function newest(path: string): number {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0; // a source that does not exist cannot be newer than the build
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = stats.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const built = newest(stamp);
const sources = Math.max(...SOURCES.map((name) => newest(join(root, name))));
if (built > sources && process.env.SLUICE_FORCE_BUILD !== '1') {
  console.log('sluice: the build is up to date (npm run build rebuilds it).');
} else {
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
