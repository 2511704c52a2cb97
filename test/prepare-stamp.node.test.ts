/**
 * `npm run build` leaves a valid `dist/.build-stamp`, so the `prepare` that `npx sluice` runs in a
 * clone right after a build by hand does not build again (it used to: the build's `rm -rf dist`
 * deleted the stamp, which only `prepare` wrote). Run in a scratch copy: `scripts/prepare.ts` and
 * the real `build` script of package.json, with its compile steps replaced by one that counts
 * builds.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scratch: string[] = [];

afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The real build script, its steps kept when they are about the stamp or `rm -rf dist`, the rest one counting step. */
function buildScript(): string {
  const real = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } }).scripts.build;
  const count = `node -e "require('fs').appendFileSync('builds.txt', 'x')"`;
  const steps: string[] = [];
  for (const step of real.split(' && ')) {
    if (step.includes('scripts/prepare.ts') || step === 'rm -rf dist') steps.push(step);
    else if (!steps.includes(count)) steps.push(count);
  }
  return steps.join(' && ');
}

function setUp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prepare-'));
  scratch.push(dir);
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  copyFileSync(join(ROOT, 'scripts', 'prepare.ts'), join(dir, 'scripts', 'prepare.ts'));
  writeFileSync(join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', scripts: { build: buildScript() } }));
  // Every source an hour old, so that the build is newer whatever the clock's resolution.
  const past = new Date(Date.now() - 3_600_000);
  for (const path of ['scripts/prepare.ts', 'scripts', 'src/a.ts', 'src', 'package.json']) utimesSync(join(dir, path), past, past);
  return dir;
}

/** Runs a command in `dir` with this Node first on the PATH (npm scripts run `node scripts/prepare.ts`). */
function run(dir: string, command: string, args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  delete env['SLUICE_FORCE_BUILD'];
  const result = spawnSync(command, args, { cwd: dir, env, encoding: 'utf8' });
  expect(result.status, `${command} ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

const builds = (dir: string): number => (existsSync(join(dir, 'builds.txt')) ? readFileSync(join(dir, 'builds.txt'), 'utf8').length : 0);

describe('the build stamp', () => {
  it('npm run build writes it, so prepare (npx sluice) right after does not build again', () => {
    const dir = setUp();
    run(dir, 'npm', ['run', 'build']);
    expect(builds(dir)).toBe(1);
    expect(existsSync(join(dir, 'dist', '.build-stamp'))).toBe(true);
    expect(existsSync(join(dir, 'dist', '.build-stamp.partial'))).toBe(false);
    expect(run(dir, process.execPath, ['scripts/prepare.ts'])).toContain('the build is up to date');
    expect(builds(dir)).toBe(1);
  });

  it('is as old as the build\'s start: a source saved after it makes prepare build again', () => {
    const dir = setUp();
    run(dir, process.execPath, ['scripts/prepare.ts']);
    expect(builds(dir)).toBe(1);
    const stamped = statSync(join(dir, 'dist', '.build-stamp')).mtime;
    const later = new Date(stamped.getTime() + 1_000);
    utimesSync(join(dir, 'src', 'a.ts'), later, later);
    run(dir, process.execPath, ['scripts/prepare.ts']);
    expect(builds(dir)).toBe(2);
  });

  it('is not written by a build that fails', () => {
    const dir = setUp();
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: { build: string } };
    pkg.scripts.build = pkg.scripts.build.replace(/node -e "[^"]*"/, 'node -e "process.exit(3)"');
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    const result = spawnSync('npm', ['run', 'build'], { cwd: dir, env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` }, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(existsSync(join(dir, 'dist', '.build-stamp'))).toBe(false);
  });
});
