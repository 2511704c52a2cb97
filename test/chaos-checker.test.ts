/**
 * The fault suite's checker finds what it is there to find: a skipped or repeated id across a
 * resume, an event other than the log's, a log with two terminal events, a stream lost while Redis
 * kept its data, `producer_lost` too late after a SIGKILL, and a client left waiting. A clean
 * record, and the outcomes the outage contract allows, pass.
 */
import { describe, expect, it } from 'vitest';
import { checkStream, type InjectedFault } from '../scripts/chaos/checker.ts';
import type { Connection, ReceivedEvent, StreamRecord } from '../scripts/chaos/client.ts';
import type { LogEntry } from '../scripts/chaos/redis-log.ts';

const delta = (n: number): Record<string, unknown> => ({ type: 'text-delta', id: 't', delta: `w${n} ` });
const FINISH = { type: 'finish', finishReason: 'stop' };

/** A log of `count` deltas and a finish. */
function logOf(count: number, terminal: Record<string, unknown> = FINISH): LogEntry[] {
  const entries: LogEntry[] = [];
  for (let n = 1; n <= count; n++) entries.push({ id: n, event: delta(n) });
  entries.push({ id: count + 1, event: terminal });
  return entries;
}

function received(entries: readonly LogEntry[], at = 1000): ReceivedEvent[] {
  return entries.map((entry) => ({ id: entry.id, type: String(entry.event.type), data: entry.event, at }));
}

function record(connections: Connection[], outcome: StreamRecord['outcome'] = 'terminal', startedAt = 0, endedAt = 5000): StreamRecord {
  return {
    plan: { n: 1, startAt: 0, endpoint: 'native', model: 'openai:chaos-ok-1', drops: [], resumeDelayMs: 0, clientAddress: '10.77.0.1' },
    streamId: '8a5a3f5e-4b0b-4c55-9a57-0c8a6d1c2f00',
    startedAt,
    endedAt,
    outcome,
    connections,
  };
}

const rules = (violations: { rule: string }[]): string[] => violations.map((violation) => violation.rule);

describe('the chaos checker', () => {
  const log = logOf(5);

  it('passes a stream dropped twice and resumed with Last-Event-ID, every event once', () => {
    const clean = record([
      { kind: 'post', at: 0, events: received(log.slice(0, 2)), end: 'dropped' },
      { kind: 'resume', at: 100, lastEventId: 2, events: received(log.slice(2, 4)), end: 'dropped' },
      { kind: 'resume', at: 200, lastEventId: 4, events: received(log.slice(4)), end: 'terminal' },
    ]);
    expect(checkStream(clean, log, [])).toEqual([]);
  });

  it('finds a resume that skips an event, and one that repeats one', () => {
    const skipped = record([
      { kind: 'post', at: 0, events: received(log.slice(0, 2)), end: 'dropped' },
      { kind: 'resume', at: 100, lastEventId: 2, events: received(log.slice(3)), end: 'terminal' },
    ]);
    expect(rules(checkStream(skipped, log, []))).toEqual(expect.arrayContaining(['ids_not_contiguous', 'missing_events']));
    const repeated = record([
      { kind: 'post', at: 0, events: received(log.slice(0, 3)), end: 'dropped' },
      { kind: 'resume', at: 100, lastEventId: 3, events: received(log.slice(2)), end: 'terminal' },
    ]);
    expect(rules(checkStream(repeated, log, []))).toContain('ids_not_contiguous');
  });

  it('finds renumbered events: the ids a response wrote are not the log\'s', () => {
    // A Last-Event-ID past the end answered with events numbered from it (501, 502 …).
    const renumbered = record([{ kind: 'resume', at: 0, lastEventId: 500, events: received(log).map((event, index) => ({ ...event, id: 501 + index })), end: 'terminal' }]);
    expect(rules(checkStream(renumbered, log, []))).toEqual(expect.arrayContaining(['client_bookkeeping', 'not_in_log']));
    const shifted = record([{ kind: 'post', at: 0, events: received(log).map((event, index) => ({ ...event, data: (log[index + 1] ?? log[0])!.event })), end: 'terminal' }]);
    expect(rules(checkStream(shifted, log, []))).toContain('log_mismatch');
  });

  it('finds an event numbered by one response only: an id the log never held, after Redis came back empty', () => {
    // The follower's own `not_found` error (Redis lost the stream) must carry no id (DESIGN).
    const local: ReceivedEvent = { id: 3, type: 'error', data: { type: 'error', code: 'not_found', message: 'gone' }, at: 12_000 };
    const numbered = record([{ kind: 'post', at: 0, events: [...received(log.slice(0, 2), 9000), local], end: 'terminal' }], 'terminal', 0, 12_500);
    const emptied: InjectedFault = { kind: 'redis-restart-empty', at: 10_000, endedAt: 11_000 };
    expect(rules(checkStream(numbered, [], [emptied], 12_600))).toEqual(['not_in_log']);
    // Without the id, and the resume's 404 after it, the stream is one Redis lost: no violation.
    const unnumbered = record(
      [
        { kind: 'post', at: 0, events: [...received(log.slice(0, 2), 9000), { ...local, id: undefined }], end: 'closed' },
        { kind: 'resume', at: 12_100, lastEventId: 2, events: [], status: 404, end: 'refused' },
      ],
      'not_found',
      0,
      12_200,
    );
    expect(checkStream(unnumbered, [], [emptied], 12_300)).toEqual([]);
  });

  it('finds a log with two terminal events, and an error without a code', () => {
    const twice = [...logOf(2), { id: 4, event: FINISH }];
    expect(rules(checkStream(record([{ kind: 'post', at: 0, events: received(twice), end: 'terminal' }]), twice, []))).toContain('terminal_count');
    const codeless = logOf(2, { type: 'error', message: 'x' });
    expect(rules(checkStream(record([{ kind: 'post', at: 0, events: received(codeless), end: 'terminal' }]), codeless, []))).toContain('error_without_code');
  });

  it('accepts a 404 on resume only when Redis lost its data during the stream', () => {
    const lost = record([{ kind: 'post', at: 0, events: received(log.slice(0, 2), 40), end: 'closed' }, { kind: 'resume', at: 100, lastEventId: 2, events: [], status: 404, end: 'refused' }], 'not_found');
    expect(rules(checkStream(lost, undefined, []))).toContain('lost_without_cause');
    const emptied: InjectedFault = { kind: 'redis-restart-empty', at: 50, endedAt: 80 };
    expect(checkStream(lost, undefined, [emptied])).toEqual([]);
  });

  it('wants producer_lost within 15 s of the SIGKILL, and a terminal event before the deadline', () => {
    const lostLog = logOf(2, { type: 'error', code: 'producer_lost', message: 'gone', retryable: true });
    const kill: InjectedFault = { kind: 'instance-kill', at: 1000, endedAt: 4000 };
    const late = record([{ kind: 'post', at: 0, events: received(lostLog, 20_000), end: 'terminal' }], 'terminal', 0, 20_000);
    expect(rules(checkStream(late, lostLog, [kill]))).toContain('producer_lost_late');
    const onTime = record([{ kind: 'post', at: 0, events: received(lostLog, 12_000), end: 'terminal' }], 'terminal', 0, 12_000);
    expect(checkStream(onTime, lostLog, [kill])).toEqual([]);
    expect(rules(checkStream(onTime, lostLog, []))).toContain('producer_lost_without_cause');
    const waiting = record([{ kind: 'post', at: 0, events: received(log.slice(0, 2)), end: 'closed' }], 'gave_up');
    expect(rules(checkStream(waiting, log, []))).toContain('hang');
  });
});
