/**
 * The fault suite's checker: every stream's record against its log (read from Redis) and DESIGN's
 * contract — ids are log positions 1, 2, 3 … in every response, a resume returns the events after
 * its `Last-Event-ID` in order, the log ends with exactly one terminal event, a killed producer's
 * followers get `producer_lost` within 15 s, an outage ends a stream with a clear code or lets it
 * resume, and no client waits past its deadline.
 *
 * @module
 */
import { isDeepStrictEqual } from 'node:util';
import type { StreamRecord } from './client.ts';
import type { LogEntry } from './redis-log.ts';

/** A fault the schedule injected. */
export interface InjectedFault {
  readonly kind: string;
  /** Milliseconds after the run's start. */
  readonly at: number;
  /** When its effect ended (the instance or Redis was back). */
  endedAt: number;
  readonly target?: string;
}

/** A broken promise. */
export interface Violation {
  /** A short name: `ids_not_contiguous`, `log_mismatch`, `hang`, … */
  readonly rule: string;
  /** The stream (its plan number), when it is about one. */
  readonly stream?: number;
  readonly streamId?: string;
  readonly detail: string;
}

/** The longest a killed producer's followers may wait for `producer_lost` (DESIGN: the lease, 10 s, plus the check). */
export const PRODUCER_LOST_WITHIN_MS = 15_000;
/** Slack for the client's own pause between a drop and its resume. */
const CLIENT_SLACK_MS = 1_000;
const TERMINAL = new Set(['finish', 'error', 'abort']);

/** Whether a stream's lifetime overlaps a fault's. */
export function overlaps(record: StreamRecord, fault: InjectedFault): boolean {
  const end = record.endedAt ?? Infinity;
  return record.startedAt <= fault.endedAt && fault.at <= end;
}

/**
 * Checks one stream.
 * @param record - what its client received
 * @param log - its log from Redis (undefined when Redis no longer has it)
 * @param faults - every fault injected in the run
 * @param logReadAt - when the log was read (ms after the run's start) @defaultValue the client's end
 * @returns the violations found
 */
export function checkStream(record: StreamRecord, log: readonly LogEntry[] | undefined, faults: readonly InjectedFault[], logReadAt?: number): Violation[] {
  const violations: Violation[] = [];
  const n = record.plan.n;
  const streamId = record.streamId;
  const add = (rule: string, detail: string): void => {
    violations.push(streamId === undefined ? { rule, stream: n, detail } : { rule, stream: n, streamId, detail });
  };
  const during = (kind: string): InjectedFault[] => faults.filter((fault) => fault.kind === kind && overlaps(record, fault));

  if (record.outcome === 'refused') {
    const last = record.connections.at(-1);
    add('refused', `a request of this stream got ${String(last?.status)} ${String(last?.code ?? '')}, which no retry helps`);
    return violations;
  }
  if (record.outcome === 'gave_up') {
    add('hang', `no terminal event ${record.plan.endpoint === 'native' ? '' : '(AI SDK) '}within the client's deadline; ${record.connections.length} requests, last ${describeLast(record)}`);
  }
  for (const connection of record.connections) {
    if (connection.end === 'silent') add('silent_connection', `a ${connection.kind} opened at ${(connection.at / 1000).toFixed(1)} s sent nothing, not even a heartbeat, for 20 s`);
  }
  if (streamId === undefined) {
    if (record.outcome === 'not_found' && during('redis-restart-empty').length === 0) add('lost_without_cause', 'the POST got 404 though Redis kept its data');
    return violations;
  }

  // Ids: every id-carrying event is the next position of the log, across every connection.
  let expected = 1;
  const received = new Map<number, Record<string, unknown>>();
  let terminalAt: number | undefined;
  let terminal: Record<string, unknown> | undefined;
  for (const connection of record.connections) {
    if (connection.kind === 'resume') {
      if (connection.lastEventId !== expected - 1) {
        add('client_bookkeeping', `resume sent Last-Event-ID ${String(connection.lastEventId)} after id ${expected - 1}`);
      }
      // A resume returns the events after Last-Event-ID: a resume of an AI SDK stream starts at 0.
      expected = (connection.lastEventId ?? 0) + 1;
    }
    for (const event of connection.events) {
      if (event.id === undefined) {
        // An event of this response only (a local error or abort): it must say why.
        if (event.type === 'error' && typeof event.data.code !== 'string') add('error_without_code', `an error event without a code: ${JSON.stringify(event.data)}`);
        continue;
      }
      if (event.id !== expected) {
        add('ids_not_contiguous', `${connection.kind} (Last-Event-ID ${String(connection.lastEventId ?? '-')}) got id ${event.id} where ${expected} was next`);
      }
      const seen = received.get(event.id);
      if (seen !== undefined && !isDeepStrictEqual(seen, event.data)) add('id_reused', `id ${event.id} arrived twice with different events`);
      received.set(event.id, event.data);
      expected = event.id + 1;
      if (TERMINAL.has(event.type)) {
        terminalAt ??= event.at;
        terminal ??= event.data;
      }
    }
  }

  // The log: exactly one terminal event, the last; every received event is the log's. The log is
  // read as soon as the client ends (`logReadAt`): an event received with an id must be in it,
  // unless Redis was emptied between that event and the read.
  const lost = record.outcome === 'not_found' || record.outcome === 'ahead_of_log';
  const readAt = logReadAt ?? record.endedAt ?? Infinity;
  const wipedAfter = (time: number): boolean => faults.some((fault) => fault.kind === 'redis-restart-empty' && fault.endedAt >= time && fault.at <= readAt);
  const byId = new Map((log ?? []).map((entry) => [entry.id, entry.event]));
  const absent = record.connections.flatMap((connection) => connection.events).filter((event) => event.id !== undefined && !byId.has(event.id) && !wipedAfter(event.at));
  const first = absent[0];
  if (first !== undefined) {
    const what = `${first.type}${first.type === 'error' ? ` ${String(first.data.code)}` : ''}`;
    add('not_in_log', `received ${absent.length} events with ids the log does not hold, first id ${String(first.id)} (${what}) at ${(first.at / 1000).toFixed(1)} s (log read at ${(readAt / 1000).toFixed(1)} s; Redis not emptied in between)`);
  }
  if (log !== undefined && log.length > 0) {
    const terminals = log.filter((entry) => TERMINAL.has(String(entry.event.type)));
    if (terminals.length !== 1) add('terminal_count', `the log holds ${terminals.length} terminal events`);
    else if (terminals[0] !== log.at(-1)) add('terminal_not_last', `events follow the terminal event (id ${terminals[0]?.id})`);
    log.forEach((entry, index) => {
      if (entry.id !== index + 1) add('log_ids', `the log's entry ${index + 1} has id ${entry.id}`);
    });
    const last = log.at(-1)?.event;
    if (last?.type === 'error' && typeof last.code !== 'string') add('error_without_code', `the terminal error has no code: ${JSON.stringify(last)}`);
    for (const [id, data] of received) {
      const logged = byId.get(id);
      if (logged !== undefined && !isDeepStrictEqual(stripPadding(logged), stripPadding(data))) {
        add('log_mismatch', `id ${id}: received ${JSON.stringify(data).slice(0, 120)}, the log holds ${JSON.stringify(logged).slice(0, 120)}`);
      }
    }
    if (record.outcome === 'terminal') {
      const missing = log.filter((entry) => !received.has(entry.id)).map((entry) => entry.id);
      if (missing.length > 0) add('missing_events', `the client finished without ids ${missing.slice(0, 10).join(',')}${missing.length > 10 ? '…' : ''}`);
    }
    // An AI SDK client's UI stream text is the log's text (or its start, when it dropped).
    for (const connection of record.connections) {
      if (connection.uiText === undefined) continue;
      const text = log.flatMap((entry) => (entry.event.type === 'text-delta' ? [String(entry.event.delta)] : [])).join('');
      if (!text.startsWith(connection.uiText)) add('ui_text_mismatch', `the UI stream's text ${JSON.stringify(connection.uiText.slice(0, 60))} is not the start of the log's`);
      if (connection.uiFinished === true && connection.uiText !== text) add('ui_text_mismatch', 'the UI stream finished with text other than the log\'s');
    }
  }

  // Lost streams: only when Redis lost its data during them.
  if (lost && during('redis-restart-empty').length === 0) {
    add(record.outcome === 'not_found' ? 'lost_without_cause' : 'ahead_without_cause', `a resume got ${record.outcome === 'not_found' ? 404 : 409} though Redis kept its data while the stream ran`);
  }

  // producer_lost: only after a producer was killed (or Redis was paused or lost), and within 15 s.
  if (terminal?.type === 'error' && terminal.code === 'producer_lost' && terminalAt !== undefined) {
    const causes = faults.filter((fault) => ['instance-kill', 'redis-pause', 'redis-restart-data', 'redis-restart-empty'].includes(fault.kind) && fault.at <= terminalAt && overlaps(record, fault));
    const kill = causes.filter((fault) => fault.kind === 'instance-kill').at(-1);
    if (causes.length === 0) add('producer_lost_without_cause', 'the stream ended with producer_lost though no producer was killed and Redis never stopped during it');
    else if (kill !== undefined && causes.length === 1 && terminalAt - kill.at > PRODUCER_LOST_WITHIN_MS + CLIENT_SLACK_MS) {
      add('producer_lost_late', `producer_lost reached the client ${((terminalAt - kill.at) / 1000).toFixed(1)} s after the SIGKILL (limit ${PRODUCER_LOST_WITHIN_MS / 1000} s)`);
    }
  }
  return violations;
}

/** The padding a frame may carry (SLUICE_PADDING) is not part of the event. */
function stripPadding(event: Record<string, unknown>): Record<string, unknown> {
  if (!('padding' in event) && !('p' in event)) return event;
  const { padding: _padding, p: _p, ...rest } = event;
  return rest;
}

function describeLast(record: StreamRecord): string {
  const last = record.connections.at(-1);
  if (last === undefined) return 'none';
  return `${last.kind} at ${(last.at / 1000).toFixed(1)} s: ${String(last.status ?? last.error ?? '?')} ${last.end ?? 'open'}`;
}
