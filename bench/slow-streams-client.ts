/**
 * The load generator of the slow-streams bench (bench/slow-streams.bench.ts), run as its own
 * process: opens its share of the C clients on raw `net` sockets (a minimal `GET`, no HTTP
 * parser), counts `\n\n` event boundaries per client and records each event's lateness: its
 * arrival time minus the time it was due, `request sent + (k + 1) × interval` for event `k`.
 * Prints one JSON line (a `ClientReport`) when every client has ended or the deadline passed.
 *
 * Run: node bench/slow-streams-client.ts <port> <first> <step> <total> <n> <intervalMs> <rampMs> <startAtEpochMs>
 * Client `j` (for j = first, first + step, … < total) connects at startAt + j × rampMs / total.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { BUCKET_MS, GRACE_MS, MAX_BUCKET, type ClientReport } from './slow-streams-shared.ts';

const NEWLINE = 10;

const [port, first, step, total, n, interval, ramp, startAt] = process.argv.slice(2).map(Number) as number[];
const clients = Math.max(0, Math.ceil((total! - first!) / step!));
const histogram = new Uint32Array(MAX_BUCKET + 1);
const failures: [number, number, string][] = [];
let open = 0;
let complete = 0;
let events = 0;
const sockets = new Set<Socket>();
const request = `GET /sse?n=${n}&interval=${interval} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`;

function fail(client: number, count: number, why: string): void {
  if (failures.length < 10) failures.push([client, count, why]);
}

// One read buffer for every socket: `onread` hands each read to its callback synchronously, and
// no Buffer or stream event is created per read, so the client stays cheap next to the server.
const readBuffer = Buffer.alloc(64 * 1024);

function client(index: number): void {
  let sentAt = 0;
  let count = 0;
  let previous = 0;
  let head = true;
  let failed = false;
  const socket = connect({
    port: port!,
    host: '127.0.0.1',
    noDelay: true,
    onread: {
      buffer: readBuffer,
      callback(length: number, buffer: Uint8Array): boolean {
        const now = performance.now();
        if (head) {
          head = false;
          const status = Buffer.from(buffer.buffer, buffer.byteOffset, length).toString('latin1', 0, 12);
          if (status !== 'HTTP/1.1 200') {
            failed = true;
            fail(index, count, status);
          }
        }
        for (let i = 0; i < length; i++) {
          const byte = buffer[i]!;
          if (byte === NEWLINE && previous === NEWLINE) {
            count++;
            const late = now - (sentAt + count * interval!);
            histogram[Math.min(MAX_BUCKET, Math.max(0, Math.floor(late / BUCKET_MS)))]!++;
            previous = 0;
          } else {
            previous = byte;
          }
        }
        return true;
      },
    },
  });
  sockets.add(socket);
  socket.on('connect', () => {
    sentAt = performance.now();
    socket.write(request);
  });
  socket.on('error', (error) => {
    failed = true;
    fail(index, count, error.message);
  });
  socket.on('close', () => {
    sockets.delete(socket);
    events += count;
    if (!failed && count === n) complete++;
    else if (!failed) fail(index, count, 'wrong event count');
    if (--open === 0) report();
  });
}

let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(deadline);
  const pairs: [number, number][] = [];
  for (let i = 0; i <= MAX_BUCKET; i++) if (histogram[i]! > 0) pairs.push([i, histogram[i]!]);
  const cpu = process.cpuUsage();
  const result: ClientReport = { clients, complete, events, failures, histogram: pairs, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

// Bounded: whatever has not ended GRACE_MS after its last event was due is cut and counted as a
// failure.
const deadline = setTimeout(
  () => {
    for (const socket of sockets) socket.destroy(new Error('deadline passed'));
  },
  startAt! - Date.now() + ramp! + n! * interval! + GRACE_MS,
);

open = clients;
if (open === 0) report();
for (let j = first!; j < total!; j += step!) {
  setTimeout(() => client(j), Math.max(0, startAt! - Date.now() + (j * ramp!) / total!));
}
