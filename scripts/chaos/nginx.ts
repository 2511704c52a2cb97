/**
 * Debian's nginx in front of the suite's instances, configured with the file the docs give users,
 * `deploy/nginx.conf`, included as it is from a wrapper of the suite's own.
 *
 * What the wrapper adds is what only a system-wide nginx has: `events {}`, the `http {}` block the
 * shipped file goes into, and the pid, log and temp paths, all inside the suite's prefix, so nginx
 * runs unprivileged and in the foreground. The one substitution in the shipped file itself: the
 * addresses of its `server 127.0.0.1:400N …;` lines become the instances' ports and its `listen
 * 8080` the suite's port; every other line reaches nginx unchanged (checked by {@link renderConf}).
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForExit } from './ports.ts';

/** The shipped config (what users copy to /etc/nginx/conf.d/sluice.conf). */
export const SHIPPED_CONF = fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url));

const UPSTREAM_SERVER = /^(\s*server\s+)127\.0\.0\.1:400\d(\b[^;]*;)/;
const LISTEN = /^(\s*listen\s+)8080(\s*;)/;

/** Where nginx is (Debian's `/usr/sbin/nginx`, else on PATH), or undefined. */
export function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', 'nginx']) {
    const result = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (result.error === undefined && result.status === 0) return candidate;
  }
  return undefined;
}

/**
 * The shipped file with the instances' ports and the listen port put in. Throws when the shipped
 * file's upstream has another number of `server` lines than there are instances, or no `listen
 * 8080`: the suite then no longer tests what users copy.
 * @param shipped - the text of deploy/nginx.conf
 * @param ports - the instances' ports, one per `server` line
 * @param listen - nginx's port
 */
export function renderConf(shipped: string, ports: readonly number[], listen: number): string {
  let next = 0;
  let listens = 0;
  const lines = shipped.split('\n').map((line) => {
    if (UPSTREAM_SERVER.test(line)) {
      const port = ports[next++];
      if (port === undefined) throw new Error(`deploy/nginx.conf has more upstream servers than the suite's ${ports.length} instances`);
      return line.replace(UPSTREAM_SERVER, `$1127.0.0.1:${port}$2`);
    }
    if (LISTEN.test(line)) {
      listens++;
      return line.replace(LISTEN, `$1127.0.0.1:${listen}$2`);
    }
    return line;
  });
  if (next !== ports.length || listens !== 1) {
    throw new Error(`deploy/nginx.conf must list ${ports.length} upstream servers (127.0.0.1:400N) and one \`listen 8080;\`; found ${next} and ${listens}`);
  }
  return lines.join('\n');
}

/** A running nginx. */
export interface ChaosNginx {
  readonly url: string;
  readonly pid: number | undefined;
  /** What nginx wrote to its error log so far. */
  errorLog(): string;
  /** Whether it is still running. */
  running(): boolean;
  stop(): Promise<void>;
}

/** Options of {@link startNginx}. */
export interface ChaosNginxOptions {
  /**
   * Directives added to the wrapper's `http {}` block, before the shipped file is included (the
   * shipped file itself stays as it is). The multi-instance bench adds
   * `add_header X-Sluice-Upstream $upstream_addr always;`: the shipped `server {}` has no
   * `add_header` of its own, so it inherits it, and each answer names the instance that served it.
   */
  readonly httpDirectives?: readonly string[];
}

/**
 * Starts nginx with deploy/nginx.conf in front of `ports`.
 * @param binary - from {@link findNginx}
 * @param prefix - a folder of its own (created)
 * @param ports - the instances' ports
 * @param listen - nginx's port
 * @param options - extra `http {}` directives
 */
export async function startNginx(binary: string, prefix: string, ports: readonly number[], listen: number, options: ChaosNginxOptions = {}): Promise<ChaosNginx> {
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  // Worker processes run as `nobody` when the suite runs as root: they need to reach the prefix
  // (and the folder it is in, a private temp folder).
  chmodSync(dirname(prefix), 0o755);
  chmodSync(prefix, 0o755);
  for (const name of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(join(prefix, 'tmp', name), { recursive: true });
    chmodSync(join(prefix, 'tmp', name), 0o777);
  }
  writeFileSync(join(prefix, 'sluice.conf'), renderConf(readFileSync(SHIPPED_CONF, 'utf8'), ports, listen));
  const tmp = join(prefix, 'tmp');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      '# The fault suite\'s wrapper: what /etc/nginx/nginx.conf gives a system nginx; deploy/nginx.conf goes inside http {}.',
      'worker_processes 1;',
      'events { worker_connections 4096; }',
      'http {',
      `  access_log ${join(prefix, 'access.log')};`,
      `  client_body_temp_path ${tmp}/body;`,
      `  proxy_temp_path ${tmp}/proxy;`,
      `  fastcgi_temp_path ${tmp}/fastcgi;`,
      `  uwsgi_temp_path ${tmp}/uwsgi;`,
      `  scgi_temp_path ${tmp}/scgi;`,
      ...(options.httpDirectives ?? []).map((directive) => `  ${directive}`),
      `  include ${join(prefix, 'sluice.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const errorLog = join(prefix, 'error.log');
  const args = ['-p', prefix, '-e', errorLog, '-c', join(prefix, 'nginx.conf'), '-g', `daemon off; master_process on; pid ${join(prefix, 'nginx.pid')}; error_log ${errorLog} warn;`];
  const test = spawnSync(binary, ['-t', ...args], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused the config:\n${test.stderr}`);
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${listen}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${output}`);
    const up = await fetch(`${url}/healthz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (up) break;
    if (attempt > 100) throw new Error(`nginx did not answer within 10 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid,
    errorLog: () => {
      try {
        return readFileSync(errorLog, 'utf8');
      } catch {
        // Not written yet.
        return '';
      }
    },
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGQUIT: graceful, SIGTERM: fast; the streams are over by now.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await waitForExit(child);
      clearTimeout(timer);
    },
  };
}
