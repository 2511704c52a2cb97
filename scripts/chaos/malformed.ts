/**
 * Bursts of malformed requests through nginx: bad JSON, a wrong content type, bodies that fail
 * validation, too large a body, unknown streams, bad and past-the-end `Last-Event-ID`s, a wrong
 * method. Each must get its clear JSON error (DESIGN: 400, 404, 405, 409, 413, 415), never a 500,
 * and never take an instance down (the run checks the instances afterwards). A 502/503/504 is
 * accepted while an instance or Redis is down (counted, not a violation).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Violation } from './checker.ts';

interface Probe {
  readonly name: string;
  readonly expect: readonly number[];
  /** The error code DESIGN fixes for it, when it fixes one. */
  readonly code?: string;
  send(base: string): Promise<Response>;
  /**
   * Whether a 404 is the right answer after all: the stream the probe names is gone (Redis
   * restarted empty since it finished), which DESIGN answers 404 whatever the `Last-Event-ID`.
   */
  gone?(base: string): Promise<boolean>;
}

const json = { 'content-type': 'application/json' };

function probes(finishedStream: { id: string; lastId: number } | undefined): Probe[] {
  const unknown = randomUUID();
  const list: Probe[] = [
    { name: 'broken JSON', expect: [400], send: (base) => fetch(`${base}/v1/chat`, { method: 'POST', headers: json, body: '{"messages": [' }) },
    { name: 'text/plain body', expect: [415], send: (base) => fetch(`${base}/v1/chat`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }) },
    { name: 'messages not a list', expect: [400], send: (base) => fetch(`${base}/v1/chat`, { method: 'POST', headers: json, body: '{"messages": 5}' }) },
    { name: 'no messages', expect: [400], send: (base) => fetch(`${base}/v1/chat`, { method: 'POST', headers: json, body: '{"messages": []}' }) },
    { name: 'unknown model', expect: [400], send: (base) => fetch(`${base}/v1/chat`, { method: 'POST', headers: json, body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], model: 'nope:x' }) }) },
    {
      name: '1.5 MB body',
      expect: [413],
      send: (base) => fetch(`${base}/v1/chat`, { method: 'POST', headers: json, body: JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(1_500_000) }] }) }),
    },
    { name: 'unknown stream', expect: [404], code: 'not_found', send: (base) => fetch(`${base}/v1/streams/${unknown}`, { headers: { accept: 'text/event-stream' } }) },
    { name: 'Last-Event-ID not a number', expect: [400, 404], send: (base) => fetch(`${base}/v1/streams/${unknown}`, { headers: { 'last-event-id': 'abc' } }) },
    { name: 'last_event_id=-1', expect: [400, 404], send: (base) => fetch(`${base}/v1/streams/${unknown}?last_event_id=-1`) },
    { name: 'DELETE unknown stream', expect: [404], code: 'not_found', send: (base) => fetch(`${base}/v1/streams/${unknown}`, { method: 'DELETE' }) },
    { name: 'PUT /v1/chat', expect: [404, 405], send: (base) => fetch(`${base}/v1/chat`, { method: 'PUT', headers: json, body: '{}' }) },
  ];
  if (finishedStream !== undefined) {
    list.push({
      name: 'Last-Event-ID past the end',
      expect: [409],
      code: 'ahead_of_log',
      send: (base) => fetch(`${base}/v1/streams/${finishedStream.id}`, { headers: { accept: 'text/event-stream', 'last-event-id': String(finishedStream.lastId + 5) } }),
      gone: async (base) => (await fetch(`${base}/v1/streams/${finishedStream.id}`, { method: 'HEAD' })).status === 404,
    });
  }
  return list;
}

/** A short chat with the local model, read to its end: a finished stream and its last id. */
async function finishedStream(base: string): Promise<{ id: string; lastId: number } | undefined> {
  try {
    const response = await fetch(`${base}/v1/chat`, { method: 'POST', headers: json, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], model: 'local' }) });
    const text = await response.text();
    const id = response.headers.get('x-stream-id');
    const ids = [...text.matchAll(/^id: ?(\d+)$/gm)].map((match) => Number(match[1]));
    if (response.status !== 200 || id === null || ids.length === 0 || !/^event: ?(finish|error|abort)$/m.test(text)) return undefined;
    return { id, lastId: Math.max(...ids) };
  } catch {
    // An outage right now: the past-the-end probe waits for the next burst.
    return undefined;
  }
}

/**
 * Sends one burst (every probe, each twice, at once).
 * @param base - nginx's URL
 * @returns the requests sent, their statuses, and the answers that broke the contract
 */
export async function sendMalformedBurst(base: string): Promise<{ requests: number; statuses: Record<string, number>; violations: Violation[] }> {
  const list = probes(await finishedStream(base));
  const statuses: Record<string, number> = {};
  const violations: Violation[] = [];
  const results = await Promise.all(
    [...list, ...list].map(async (probe) => {
      try {
        const response = await probe.send(base);
        const text = await response.text();
        return { probe, status: response.status, text };
      } catch (error) {
        return { probe, status: 0, text: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  for (const { probe, status, text } of results) {
    statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    if (status === 502 || status === 503 || status === 504) continue;
    if (status === 404 && probe.gone !== undefined && (await probe.gone(base).catch(() => false))) continue;
    if (!probe.expect.includes(status)) {
      violations.push({ rule: 'malformed_status', detail: `${probe.name}: expected ${probe.expect.join(' or ')}, got ${status} ${text.slice(0, 200)}` });
      continue;
    }
    let code: unknown;
    try {
      code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    } catch {
      code = undefined;
    }
    if (typeof code !== 'string') violations.push({ rule: 'malformed_body', detail: `${probe.name}: ${status} without a JSON error code: ${text.slice(0, 200)}` });
    else if (probe.code !== undefined && code !== probe.code) violations.push({ rule: 'malformed_code', detail: `${probe.name}: code ${code}, DESIGN says ${probe.code}` });
  }
  return { requests: results.length, statuses, violations };
}
