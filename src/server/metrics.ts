/**
 * The server's Prometheus metrics: one registry per app, so two apps in one process (tests, or an
 * app embedded next to another) never share series.
 *
 * @module
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { importOptional } from '../core/require-optional.ts';
import type { StreamResult } from '../core/types.ts';
import type { AgentEvent } from '../protocol/types.ts';

const promClient = await importOptional('prom-client', () => import('prom-client'));

/** The series `/metrics` always has (DESIGN.md), besides the process metrics. */
export const METRIC_NAMES = [
  'sluice_active_streams',
  'sluice_open_connections',
  'sluice_time_to_first_token_seconds',
  'sluice_tokens_total',
  'sluice_bytes_sent_total',
  'sluice_client_disconnects_total',
  'sluice_stream_errors_total',
] as const;

/** Buckets of the time to first token, in seconds: from a local model's 0 to a slow provider's tens. */
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the metrics watch of one run: its events as they are stored, and its end. */
export interface RunObserver {
  /** Called for each event the run appended to its stream, the terminal one included. */
  event(event: AgentEvent): void;
}

/** The app's metrics: the registry `/metrics` serves and the series the server updates. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** `sluice_active_streams`: generations (runs) producing events on this instance now. */
  readonly activeStreams: Gauge;
  /** `sluice_open_connections`: streaming responses (followers) open on this instance now. */
  readonly openConnections: Gauge;
  /** `sluice_time_to_first_token_seconds`: from a run's start to its first text or reasoning delta. */
  readonly timeToFirstToken: Histogram;
  /** `sluice_tokens_total{kind="text"|"reasoning"}`: text and reasoning deltas generated. */
  readonly tokens: Counter<'kind'>;
  /** `sluice_bytes_sent_total`: body bytes written by streaming responses. */
  readonly bytesSent: Counter;
  /** `sluice_client_disconnects_total`: streaming responses whose client left before the end. */
  readonly clientDisconnects: Counter;
  /** `sluice_stream_errors_total{code}`: runs that ended with an `error` event. */
  readonly streamErrors: Counter<'code'>;
  /** `sluice_rate_limited_total{limit}`: requests refused with 429 `rate_limited`, by the limit they hit. */
  readonly rateLimited: Counter<'limit'>;
  /**
   * `sluice_takeovers_total{outcome}`: runs this instance took over from the log (`resumed`), took
   * over but could not continue (`failed`, ended `producer_lost`), found out of takeovers
   * (`exhausted`, ended `producer_lost`), and handed to another instance while draining (`handed_over`).
   */
  readonly takeovers: Counter<'outcome'>;
  /**
   * Starts watching a run (time to first token, tokens, errors).
   * @returns the run's observer; time to first token counts from this call
   */
  observeRun(): RunObserver;
  /** Records a streaming response that is over (bytes sent, disconnects). */
  observeResponse(result: StreamResult): void;
}

/** Options of {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /** Adds prom-client's process metrics (`process_resident_memory_bytes`, `nodejs_*`, …). @defaultValue true */
  processMetrics?: boolean;
}

/**
 * Creates a registry with the server's series.
 * @param options - whether to add the process metrics
 * @returns the metrics of one app
 */
export function createServerMetrics(options: ServerMetricsOptions = {}): ServerMetrics {
  const registry = new promClient.Registry();
  const registers = [registry];
  const activeStreams = new promClient.Gauge({ name: 'sluice_active_streams', help: 'Generations running on this instance now.', registers });
  const openConnections = new promClient.Gauge({ name: 'sluice_open_connections', help: 'Streaming responses open on this instance now.', registers });
  const timeToFirstToken = new promClient.Histogram({
    name: 'sluice_time_to_first_token_seconds',
    help: "Seconds from a generation's start to its first text or reasoning delta.",
    buckets: TTFT_BUCKETS,
    registers,
  });
  // Deltas are counted in plain numbers and added to the counter when it is read (a scrape): a
  // labelled inc() per delta builds a label object and its hash on every token of every run.
  const counted = { text: 0, reasoning: 0 };
  const tokens = new promClient.Counter({
    name: 'sluice_tokens_total',
    help: 'Text and reasoning deltas generated (a delta is about a token); rate() gives tokens per second.',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      if (counted.text > 0) this.inc({ kind: 'text' }, counted.text);
      if (counted.reasoning > 0) this.inc({ kind: 'reasoning' }, counted.reasoning);
      counted.text = 0;
      counted.reasoning = 0;
    },
  });
  const bytesSent = new promClient.Counter({ name: 'sluice_bytes_sent_total', help: 'Body bytes written by streaming responses.', registers });
  const clientDisconnects = new promClient.Counter({
    name: 'sluice_client_disconnects_total',
    help: 'Streaming responses whose client left before the stream ended.',
    registers,
  });
  const streamErrors = new promClient.Counter({
    name: 'sluice_stream_errors_total',
    help: 'Generations that ended with an error event, by error code.',
    labelNames: ['code'] as const,
    registers,
  });
  const rateLimited = new promClient.Counter({
    name: 'sluice_rate_limited_total',
    help: 'Requests refused with 429 rate_limited, by the limit they reached (see docs/limits.md).',
    labelNames: ['limit'] as const,
    registers,
  });
  const takeovers = new promClient.Counter({
    name: 'sluice_takeovers_total',
    help: 'Runs taken over from the log after their producer died or drained, by outcome (resumed, failed, exhausted, handed_over).',
    labelNames: ['outcome'] as const,
    registers,
  });
  // Zero series from the start, so dashboards and rate() see them before the first event.
  for (const outcome of ['resumed', 'failed', 'exhausted', 'handed_over']) takeovers.inc({ outcome }, 0);
  tokens.inc({ kind: 'text' }, 0);
  tokens.inc({ kind: 'reasoning' }, 0);
  if (options.processMetrics !== false) promClient.collectDefaultMetrics({ register: registry });

  return {
    registry,
    activeStreams,
    openConnections,
    timeToFirstToken,
    tokens,
    bytesSent,
    clientDisconnects,
    streamErrors,
    rateLimited,
    takeovers,
    observeRun() {
      const startedAt = performance.now();
      let first = true;
      return {
        event(event) {
          if (event.type === 'text-delta' || event.type === 'reasoning-delta') {
            if (first) {
              first = false;
              timeToFirstToken.observe((performance.now() - startedAt) / 1000);
            }
            if (event.type === 'text-delta') counted.text++;
            else counted.reasoning++;
          } else if (event.type === 'error') {
            streamErrors.inc({ code: event.code });
          }
        },
      };
    },
    observeResponse(result) {
      if (result.bytes > 0) bytesSent.inc(result.bytes);
      if (result.outcome === 'disconnected') clientDisconnects.inc();
    },
  };
}
