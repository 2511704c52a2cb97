/**
 * `GET /metrics`: every series DESIGN.md names is there (parsed with a real Prometheus text-format
 * parser), and the time to first token, tokens, bytes, disconnects and errors move when streams do.
 */
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentEvent } from '../src/protocol/types.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { METRIC_NAMES } from '../src/server/metrics.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let server: TestServer;

/** A provider that starts an answer and then fails upstream. */
async function* failing(): AsyncIterable<AgentEvent> {
  yield { type: 'message-start', messageId: 'm' };
  yield { type: 'text-start', id: 't' };
  yield { type: 'text-delta', id: 't', delta: 'Half' };
  yield { type: 'error', code: 'upstream_failed', message: 'The provider went away.', retryable: true };
}

beforeAll(async () => {
  const models = createModelRegistry({
    env: {},
    providers: {
      local: createLocalProvider({ ttftMs: 0, tokensPerSecond: 0 }),
      openai: failing,
    },
  });
  server = await startServer(createApp({ models, env: {} }));
});

afterAll(async () => {
  await server.close();
});

async function scrape(): Promise<Map<string, ParsedFamily>> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Map(parsePrometheusTextFormat(await response.text()).map((family) => [family.name, family]));
}

function value(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (family === undefined) throw new Error(`no series ${name}`);
  const sample = family.metrics.find((metric) => Object.entries(labels).every(([key, wanted]) => metric.labels?.[key] === wanted));
  return sample === undefined ? 0 : Number(sample.value ?? sample.count);
}

function chat(content: string, model?: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content }], ...(model === undefined ? {} : { model }) }),
    ...(signal === undefined ? {} : { signal }),
  });
}

describe('GET /metrics', () => {
  it('has every series DESIGN.md names, with their types, and the process metrics', async () => {
    const families = await scrape();
    for (const name of METRIC_NAMES) expect(families.has(name), name).toBe(true);
    expect(families.get('sluice_active_streams')!.type).toBe('GAUGE');
    expect(families.get('sluice_open_connections')!.type).toBe('GAUGE');
    expect(families.get('sluice_time_to_first_token_seconds')!.type).toBe('HISTOGRAM');
    expect(families.get('sluice_tokens_total')!.type).toBe('COUNTER');
    expect(families.get('sluice_bytes_sent_total')!.type).toBe('COUNTER');
    expect(families.get('sluice_client_disconnects_total')!.type).toBe('COUNTER');
    expect(families.get('sluice_stream_errors_total')!.type).toBe('COUNTER');
    expect(value(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts the time to first token, the tokens and the bytes of a chat', async () => {
    const before = await scrape();
    const response = await chat('What is backpressure?');
    const body = await response.text();
    const after = await scrape();
    expect(value(after, 'sluice_time_to_first_token_seconds')).toBe(value(before, 'sluice_time_to_first_token_seconds') + 1);
    const deltas = body.split('\n').filter((line) => line === 'event: text-delta').length;
    expect(deltas).toBeGreaterThan(5);
    expect(value(after, 'sluice_tokens_total', { kind: 'text' }) - value(before, 'sluice_tokens_total', { kind: 'text' })).toBe(deltas);
    expect(value(after, 'sluice_bytes_sent_total') - value(before, 'sluice_bytes_sent_total')).toBe(Buffer.byteLength(body));
    expect(value(after, 'sluice_active_streams')).toBe(0);
    expect(value(after, 'sluice_open_connections')).toBe(0);
  });

  it('counts a run that ends with an error, by its code', async () => {
    const before = await scrape();
    const body = await (await chat('hello', 'openai:any')).text();
    expect(body).toContain('event: error');
    const after = await scrape();
    const code = { code: 'upstream_failed' };
    expect(value(after, 'sluice_stream_errors_total', code) - value(before, 'sluice_stream_errors_total', code)).toBe(1);
  });

  it('counts a client that leaves mid-stream as a disconnect', async () => {
    const before = await scrape();
    const controller = new AbortController();
    // A long answer, then leave after the first chunk.
    const response = await chat('Write a report on backpressure', undefined, controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await vi.waitFor(async () => {
      const after = await scrape();
      expect(value(after, 'sluice_client_disconnects_total') - value(before, 'sluice_client_disconnects_total')).toBe(1);
      expect(value(after, 'sluice_open_connections')).toBe(0);
    });
  });

  it('keeps the series of two apps apart (one registry per app)', async () => {
    const other = createApp({ env: {} });
    other.metrics.tokens.inc({ kind: 'text' }, 1000);
    const families = await scrape();
    expect(value(families, 'sluice_tokens_total', { kind: 'text' })).toBeLessThan(1000);
    await other.shutdown();
  });
});
