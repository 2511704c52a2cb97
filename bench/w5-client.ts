/**
 * The load generator of the W5 bench (bench/w5-agent-chats.bench.ts), run as its own process:
 * opens its share of the C chats on raw `net` sockets (an HTTP/1.0 `POST`, so the answer comes
 * unchunked until the server closes), splits each answer into SSE frames at `\n\n`, and records the
 * gap between consecutive deltas of a chat (`text-delta` and `reasoning-delta` frames) in a
 * histogram, and the time from opening each chat's connection to its first delta. A chat is complete when its answer had status 200, at least one delta, and its
 * terminal frame (`data: [DONE]` on `/api/chat`, `event: finish` on `/v1/chat`) before the close.
 * Prints one JSON line (a `W5ClientReport`) when every chat has ended or the deadline passed.
 *
 * With `resume` (the multi-instance bench, bench/multi-instance.bench.ts, `/api/chat` only), a chat
 * whose answer breaks off before `[DONE]` resumes as the AI SDK's `useChat` does: `GET
 * /api/chat/<chatId>/stream` (the stream again from its start, then live), at once and again until
 * it has `[DONE]` (after 300 ms on a 502, 503 or 504). Frames the chat already had are counted as
 * replay; the first one past them is the resume. It also counts frames per upstream (nginx's
 * `X-Sluice-Upstream` header) and reports each chat's outcome and times (`chatDetails`).
 *
 * Run: node bench/w5-client.ts <port> <path> <first> <step> <total> <rampMs> <startAtEpochMs> <deadlineMs> [resume]
 * Chat `j` (for j = first, first + step, … < total) starts at startAt + j × rampMs / total.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { W5_QUESTION } from './servers/w5-question.ts';
import { producerLostEvent } from '../src/store/errors.ts';
import { GAP_BUCKET_MS, GAP_MAX_BUCKET, type W5ChatDetail, type W5ClientReport } from './w5-shared.ts';

const args = process.argv.slice(2);
const path = args[1]!;
const [port, first, step, total, ramp, startAt, deadlineMs] = [args[0], ...args.slice(2)].map(Number) as number[];
const ui = path === '/api/chat';
const resume = args[8] === 'resume';
if (resume && !ui) throw new Error('resume works on /api/chat only');
const PRODUCER_LOST_TEXT = JSON.stringify(producerLostEvent().message);
const upstreamFrames = new Map<string, number>();
const details: W5ChatDetail[] = [];
const epochNow = (): number => performance.timeOrigin + performance.now();
const terminal = ui ? 'data: [DONE]' : 'event: finish';
const histogram = new Uint32Array(GAP_MAX_BUCKET + 1);
const failures: [number, string][] = [];
const sockets = new Set<Socket>();
let open = 0;
let complete = 0;
let frames = 0;
let deltas = 0;
const firstDeltaMs: number[] = [];

function fail(chat: number, why: string): void {
  if (failures.length < 10) failures.push([chat, why]);
}

function chatId(chat: number): string {
  return `w5-${process.pid}-${chat}`;
}

function body(chat: number): string {
  const text = W5_QUESTION;
  const json = ui
    ? { id: chatId(chat), trigger: 'submit-message', messages: [{ id: `u-${chat}`, role: 'user', parts: [{ type: 'text', text }] }] }
    : { messages: [{ role: 'user', content: text }] };
  return JSON.stringify(json);
}

function chat(index: number): void {
  const detail: W5ChatDetail = { chat: index, upstream: '', outcome: 'cut', resumes: 0, endAt: 0 };
  /** Data frames of the stream the chat has (a resume's replay of them is not counted again). */
  let have = 0;
  /** `start-step` frames among them. */
  let steps = 0;
  /** The stream's terminal chunk, once it came (`complete`, `producer_lost`, …). */
  let terminalChunk = '';
  let chatDeltas = 0;
  let lastDelta = -1;

  const finish = (outcome: string): void => {
    detail.outcome = outcome;
    detail.endAt = epochNow();
    if (resume) details.push(detail);
    if (--open === 0) report();
  };

  const connection = (kind: 'post' | 'resume'): void => {
    let head = true;
    let buffered = '';
    let ended = false;
    let ok = false;
    let status = '';
    let upstream = '';
    /** Data frames of this answer so far. */
    let received = 0;
    const openedAt = performance.now();
    const socket = connect({ port: port!, host: '127.0.0.1', noDelay: true });
    sockets.add(socket);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      if (kind === 'resume') {
        socket.write(`GET ${path}/${chatId(index)}/stream HTTP/1.0\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n`);
        return;
      }
      const payload = body(index);
      socket.write(`POST ${path} HTTP/1.0\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: text/event-stream\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
    });
    socket.on('data', (chunk: string) => {
      const now = performance.now();
      buffered += chunk;
      if (head) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        head = false;
        status = buffered.slice(9, 12);
        ok = buffered.startsWith('HTTP/1.1 200') || buffered.startsWith('HTTP/1.0 200');
        if (resume) {
          upstream = /^x-sluice-upstream:\s*([^\r]*)/im.exec(buffered.slice(0, end))?.[1]?.split(', ').at(-1) ?? '';
          if (kind === 'post') detail.upstream = upstream;
        }
        if (!ok && !(resume && kind === 'resume')) fail(index, buffered.slice(0, Math.min(200, buffered.length)));
        buffered = buffered.slice(end + 4);
      }
      let start = 0;
      let count = 0;
      for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n', start)) {
        const frame = buffered.slice(start, end);
        start = end + 2;
        frames++;
        count++;
        if (resume) {
          if (!frame.includes('data: ')) continue;
          // A resume replays the stream from its start: the frames the chat had are not new.
          if (received++ < have) continue;
          have++;
          if (kind === 'resume') detail.firstNewAt ??= epochNow();
          if (frame.includes('"type":"start-step"') && ++steps === 2) detail.seamAt ??= epochNow();
          if (frame.includes('"type":"finish"')) terminalChunk = 'complete';
          else if (frame.includes('"type":"error"')) terminalChunk = frame.includes(PRODUCER_LOST_TEXT) ? 'producer_lost' : `error: ${frame.slice(0, 200)}`;
          else if (frame.includes('"type":"abort"')) terminalChunk = 'abort';
        }
        if (frame.includes('-delta"')) {
          deltas++;
          chatDeltas++;
          // Gaps are measured on the first answer only (a resume's wait for the takeover is not a gap).
          if (kind === 'post') {
            if (lastDelta < 0) firstDeltaMs.push(now - openedAt);
            if (lastDelta >= 0) histogram[Math.min(GAP_MAX_BUCKET, Math.floor((now - lastDelta) / GAP_BUCKET_MS))]!++;
            lastDelta = now;
          }
        } else if (frame.includes(terminal)) {
          ended = true;
        }
      }
      if (resume && count > 0) upstreamFrames.set(upstream, (upstreamFrames.get(upstream) ?? 0) + count);
      buffered = buffered.slice(start);
    });
    socket.on('error', (error) => {
      if (!resume) fail(index, error.message);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (!resume) {
        if (ok && ended && chatDeltas > 0) complete++;
        else if (ok) fail(index, `no terminal frame after ${chatDeltas} deltas`);
        finish(ok && ended ? 'complete' : 'cut');
        return;
      }
      if (ok && ended) {
        if (terminalChunk === 'complete' && chatDeltas > 0) complete++;
        else fail(index, terminalChunk === '' ? 'no terminal chunk before [DONE]' : terminalChunk);
        finish(terminalChunk === '' ? 'no terminal chunk' : terminalChunk);
        return;
      }
      const retry = ['502', '503', '504'].includes(status);
      if (kind === 'post' && !ok) {
        finish(`refused: ${status || 'no answer'}`);
        return;
      }
      if (kind === 'resume' && !ok && !retry) {
        fail(index, `resume answered ${status || 'nothing'}`);
        finish(`refused: ${status || 'no answer'} on resume`);
        return;
      }
      if (kind === 'post') detail.cutAt = epochNow();
      if (epochNow() >= deadlineMs!) {
        fail(index, `cut, not resumed before the deadline after ${chatDeltas} deltas`);
        finish('cut');
        return;
      }
      detail.resumes++;
      setTimeout(() => {
        // The deadline's sweep of the open sockets has passed: a resume now would never be cut.
        if (epochNow() >= deadlineMs!) finish('cut');
        else connection('resume');
      }, retry ? 300 : 0);
    });
  };
  connection('post');
}

let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(deadline);
  const pairs: [number, number][] = [];
  for (let i = 0; i <= GAP_MAX_BUCKET; i++) if (histogram[i]! > 0) pairs.push([i, histogram[i]!]);
  const cpu = process.cpuUsage();
  const result: W5ClientReport = { chats: Math.max(0, Math.ceil((total! - first!) / step!)), complete, frames, deltas, failures, histogram: pairs, cpuSeconds: (cpu.user + cpu.system) / 1e6, firstDeltaMs };
  if (resume) {
    result.upstreamFrames = [...upstreamFrames];
    result.chatDetails = details;
  }
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

// Bounded: whatever is still open at the deadline is cut and counted as incomplete.
const deadline = setTimeout(() => {
  for (const socket of sockets) socket.destroy(new Error('deadline passed'));
}, deadlineMs! - Date.now());

open = Math.max(0, Math.ceil((total! - first!) / step!));
if (open === 0) report();
for (let j = first!; j < total!; j += step!) {
  setTimeout(() => chat(j), Math.max(0, startAt! - Date.now() + (j * ramp!) / total!));
}
