/**
 * `npm install`'s build step (`prepare`): builds what `npm start` serves, unless the build is
 * already newer than every source it is made from. `npx sluice …` run inside a clone links the
 * package and runs `prepare` again: without this check that rebuilt everything (`rm -rf dist`
 * first), breaking a server running from the same clone for most of a minute.
 *
 * The build's stamp, `dist/.build-stamp`, says "built from the sources as they were at this time":
 * its modification time is when the build started (a source saved while it ran is newer, so the
 * next `prepare` builds again). `npm run build` writes it itself, so a build by hand is as good as
 * one by `prepare`: its first step after `rm -rf dist` is `node scripts/prepare.ts --begin` (the
 * stamp to be, `dist/.build-stamp.partial`, made now) and its last `node scripts/prepare.ts --end`
 * (renamed into place, keeping that time). A build that fails leaves no stamp.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');
const partial = `${stamp}.partial`;
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

const mode = process.argv[2];
if (mode === '--begin') {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(partial, `${new Date().toISOString()}\n`);
} else if (mode === '--end') {
  renameSync(partial, stamp);
} else if (mode !== undefined) {
  console.error(`sluice: unknown option ${JSON.stringify(mode)} (scripts/prepare.ts takes --begin, --end or nothing).`);
  process.exit(2);
} else {
  const built = newest(stamp);
  const sources = Math.max(...SOURCES.map((name) => newest(join(root, name))));
  if (built > sources && process.env.SLUICE_FORCE_BUILD !== '1') {
    console.log('sluice: the build is up to date (npm run build rebuilds it).');
  } else {
    // `npm run build` stamps the build when it succeeds.
    const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
