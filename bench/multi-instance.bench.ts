/**
 * Many instances, measured (issue 17, item 5): W5's agent chats (`POST /api/chat`, the `local`
 * model at 50 tokens/s) spread by nginx — Debian's, with the shipped deploy/nginx.conf — over three
 * `sluice serve` instances on one private Redis; mid-answer the instance producing the most runs
 * is killed with SIGKILL. Its chats' answers break off; their clients resume through nginx as the
 * AI SDK's `useChat` does (`GET /api/chat/:id/stream`, the stream again from its start, then live),
 * and another instance takes each run over from the log (docs/takeover.md) or ends it
 * `producer_lost`.
 *
 * Method (bench/multi-run.ts): the fault suite's Redis, instances and nginx (scripts/chaos/), the
 * W5 load generator (bench/w5-client.ts) in its `resume` mode, two processes, opening the chats
 * over 2 s. nginx's wrapper adds `X-Sluice-Upstream: $upstream_addr` to every answer, so each
 * frame a client receives is counted for the instance that served it (first answers and resumes,
 * replays included). CPU (user + system, /proc/<pid>/stat) from just before the first chat to
 * after the last — the killed instance's up to the kill; CPU per frame divides an instance's by
 * the frames it served. Redis CPU per event divides redis-server's by the events in the streams'
 * logs at the end (each stream's last id). Time to resume: from the kill to the first frame a
 * resumed chat had not had before; time to the seam: from the kill to the takeover's
 * `start-step`. The checker (bench/multi-check.ts) requires every chat `complete` or
 * `producer_lost` and every chat of the killed instance resumed.
 *
 * Run: `npm run build && npm run bench -- multi`. Environment: `MULTI_CLIENTS=1000`,
 * `MULTI_TPS=50`, `MULTI_TTFT_MS=300`, `MULTI_KILL_MS=5000` (the kill, after the first chat's
 * start), `MULTI_PADDING=on`. Needs nginx and redis-server.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { checkMulti, type MultiCheck } from './multi-check.ts';
import { loadAverage } from './process-helpers.ts';
import { missingForMulti, runMulti, type MultiResult } from './multi-run.ts';

const CLIENTS = Number(process.env.MULTI_CLIENTS ?? 1000);
const TPS = Number(process.env.MULTI_TPS ?? 50);
const TTFT_MS = Number(process.env.MULTI_TTFT_MS ?? 300);
const KILL_MS = Number(process.env.MULTI_KILL_MS ?? 5000);
const PADDING = process.env.MULTI_PADDING ?? 'on';

const ms = (value: number): string => (Number.isNaN(value) ? '—' : value.toFixed(0));
const us = (seconds: number, count: number): string => (count === 0 ? '—' : ((seconds * 1e6) / count).toFixed(1));
const n = (value: number): string => value.toLocaleString('en');

/**
 * The bench's markdown tables for one run.
 * @param result - what the run measured
 * @param check - the checker's reading
 * @returns the tables and the violations, if any
 */
export function formatMulti(result: MultiResult, check: MultiCheck): string {
  const lines = [
    '| C | complete | producer_lost | other | killed instance: chats running at the kill | resumed | seam received | kill → first new frame p50 / p99 / max ms | kill → seam p50 / p99 / max ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${n(result.clients)} | ${check.complete} | ${check.producerLost} | ${check.other} | ${check.victimChats} | ${check.resumed} | ${check.seams} | ${check.resumeMs.map(ms).join(' / ')} | ${check.seamMs.map(ms).join(' / ')} |`,
    '',
    '| process | chats started (POST) | frames served | CPU s | µs/frame | takeovers resumed / failed / exhausted |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of result.instances) {
    const takeovers = row.takeovers === undefined ? '—' : ['resumed', 'failed', 'exhausted'].map((key) => String(row.takeovers![key])).join(' / ');
    lines.push(`| instance ${row.index}${row.killed ? ' (SIGKILL, CPU up to the kill)' : ''} | ${n(row.chats)} | ${n(row.frames)} | ${row.cpuSeconds.toFixed(2)} | ${us(row.cpuSeconds, row.frames)} | ${takeovers} |`);
  }
  const cpu = result.instances.reduce((sum, row) => sum + row.cpuSeconds, 0);
  const served = result.instances.reduce((sum, row) => sum + row.frames, 0);
  lines.push(
    `| the 3 instances | ${n(result.chats.length)} | ${n(served)} | ${cpu.toFixed(2)} | ${us(cpu, served)} | |`,
    `| nginx (master + worker) | | ${n(result.frames)} | ${result.nginxCpuSeconds.toFixed(2)} | ${us(result.nginxCpuSeconds, result.frames)} | |`,
    '',
    '| redis-server | events appended | streams | CPU s | µs/event |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| one, no persistence | ${n(result.redisEvents)} | ${n(result.redisStreams)} | ${result.redisCpuSeconds.toFixed(2)} | ${us(result.redisCpuSeconds, result.redisEvents)} |`,
  );
  if (result.unattributedFrames !== 0) lines.push('', `${n(result.unattributedFrames)} frames came without \`X-Sluice-Upstream\` and are in no instance's row.`);
  if (check.survivorCuts !== 0) lines.push('', `${check.survivorCuts} chats of the surviving instances broke off too (and resumed).`);
  if (check.violations.length > 0) lines.push('', `**Checker:** ${check.violations.join('; ')}.`);
  return lines.join('\n');
}

export async function bench(): Promise<string> {
  const title = `### Three instances behind nginx on one Redis: ${n(CLIENTS)} agent chats at ${TPS} tokens/s, one instance killed ${KILL_MS / 1000} s in`;
  const missing = missingForMulti();
  // `npm run bench` runs every bench: one machine without nginx still gets the others' tables.
  if (missing !== undefined) return `${title}\n\n**Not run:** ${missing}.`;
  const loadBefore = loadAverage();
  const result = await runMulti({ clients: CLIENTS, tps: TPS, ttftMs: TTFT_MS, killAfterMs: KILL_MS, padding: PADDING });
  const check = checkMulti(result);
  return [
    title,
    '',
    `nginx with deploy/nginx.conf spreads the chats (\`POST /api/chat\`, padding ${PADDING}) over three \`sluice serve\` on one redis-server; instance ${result.victim} (${result.victimActive} runs producing by its metrics) gets SIGKILL ${KILL_MS / 1000} s after the first chat started; its chats resume through nginx (\`GET /api/chat/:id/stream\`). Window ${result.seconds.toFixed(1)} s; delta gap on the first answers p50 ${result.gapP50.toFixed(1)} ms, p99 ${result.gapP99.toFixed(1)} ms; load generators ${result.loadGenCpuSeconds.toFixed(2)} CPU s. Load average (1 min): ${loadBefore} before, ${loadAverage()} after, on ${availableParallelism()} CPUs shared with other work.`,
    '',
    formatMulti(result, check),
  ].join('\n');
}
