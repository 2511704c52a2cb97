/**
 * The load generator of the W5 bench (bench/w5-agent-chats.bench.ts), run as its own process:
 * opens its share of the C chats on raw `net` sockets (an HTTP/1.0 `POST`, so the answer comes
 * unchunked until the server closes), splits each answer into SSE frames at `\n\n`, and records the
 * gap between consecutive deltas of a chat (`text-delta` and `reasoning-delta` frames) in a
 * histogram. A chat is complete when its answer had status 200, at least one delta, and its
 * terminal frame (`data: [DONE]` on `/api/chat`, `event: finish` on `/v1/chat`) before the close.
 * Prints one JSON line (a `W5ClientReport`) when every chat has ended or the deadline passed.
 *
 * Run: node bench/w5-client.ts <port> <path> <first> <step> <total> <rampMs> <startAtEpochMs> <deadlineMs>
 * Chat `j` (for j = first, first + step, … < total) starts at startAt + j × rampMs / total.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { W5_QUESTION } from './servers/w5-question.ts';
import { GAP_BUCKET_MS, GAP_MAX_BUCKET, type W5ClientReport } from './w5-shared.ts';

const args = process.argv.slice(2);
const path = args[1]!;
const [port, first, step, total, ramp, startAt, deadlineMs] = [args[0], ...args.slice(2)].map(Number) as number[];
const ui = path === '/api/chat';
const terminal = ui ? 'data: [DONE]' : 'event: finish';
const histogram = new Uint32Array(GAP_MAX_BUCKET + 1);
const failures: [number, string][] = [];
const sockets = new Set<Socket>();
let open = 0;
let complete = 0;
let frames = 0;
let deltas = 0;

function fail(chat: number, why: string): void {
  if (failures.length < 10) failures.push([chat, why]);
}

function body(chat: number): string {
  const text = W5_QUESTION;
  const json = ui
    ? { id: `w5-${process.pid}-${chat}`, trigger: 'submit-message', messages: [{ id: `u-${chat}`, role: 'user', parts: [{ type: 'text', text }] }] }
    : { messages: [{ role: 'user', content: text }] };
  return JSON.stringify(json);
}

function chat(index: number): void {
  let head = true;
  let buffered = '';
  let lastDelta = -1;
  let ended = false;
  let ok = false;
  let chatDeltas = 0;
  const socket = connect({ port: port!, host: '127.0.0.1', noDelay: true });
  sockets.add(socket);
  socket.setEncoding('latin1');
  socket.on('connect', () => {
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
      ok = buffered.startsWith('HTTP/1.1 200') || buffered.startsWith('HTTP/1.0 200');
      if (!ok) fail(index, buffered.slice(0, Math.min(200, buffered.length)));
      buffered = buffered.slice(end + 4);
    }
    let start = 0;
    for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n', start)) {
      const frame = buffered.slice(start, end);
      start = end + 2;
      frames++;
      if (frame.includes('-delta"')) {
        deltas++;
        chatDeltas++;
        if (lastDelta >= 0) histogram[Math.min(GAP_MAX_BUCKET, Math.floor((now - lastDelta) / GAP_BUCKET_MS))]!++;
        lastDelta = now;
      } else if (frame.includes(terminal)) {
        ended = true;
      }
    }
    buffered = buffered.slice(start);
  });
  socket.on('error', (error) => fail(index, error.message));
  socket.on('close', () => {
    sockets.delete(socket);
    if (ok && ended && chatDeltas > 0) complete++;
    else if (ok) fail(index, `no terminal frame after ${chatDeltas} deltas`);
    if (--open === 0) report();
  });
}

let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(deadline);
  const pairs: [number, number][] = [];
  for (let i = 0; i <= GAP_MAX_BUCKET; i++) if (histogram[i]! > 0) pairs.push([i, histogram[i]!]);
  const cpu = process.cpuUsage();
  const result: W5ClientReport = { chats: Math.max(0, Math.ceil((total! - first!) / step!)), complete, frames, deltas, failures, histogram: pairs, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
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
