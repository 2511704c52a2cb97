/**
 * The smaller defects issue 16 found from outside, each replayed against a real app on a local
 * port (each of these failed on the code before the fix):
 * - a 200,000-character message answered 500 (the local model's fuzzy search failed to allocate),
 *   and a 50,000-deep `tool-result` output answered 500 (stack overflow downstream): now the
 *   message is answered and the deep body is a 400 JSON error;
 * - `Range: bytes=-1` on an empty file answered `206` with `Content-Range: bytes 0--1/0`: now 200;
 * - a 413 for an upload still in progress reached the client as a reset (EPIPE/ECONNRESET, the
 *   413 lost): now the client reads the 413;
 * - an HTTP/1.0 plain-text answer that was stopped ended with a clean close, which for a
 *   close-delimited body looks complete: now the connection is reset.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDepth } from '../src/server/read-json.ts';
import { createLocalProvider } from '../src/providers/local/index.ts';
import { createApp } from '../src/server/app.ts';
import { createModelRegistry } from '../src/server/models.ts';
import { startServer, type TestServer } from './helpers/http.ts';

let server: TestServer;
/** The same app with a paced model, for stopping an answer midway. */
let paced: TestServer;
const errors: unknown[] = [];

function app(tokensPerSecond: number, filesDir: string): ReturnType<typeof createApp> {
  const models = createModelRegistry({ env: {}, providers: { local: createLocalProvider({ ttftMs: 0, tokensPerSecond }) } });
  return createApp({ models, filesDir, onError: (error) => errors.push(error), env: {} });
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-defects-'));
  writeFileSync(join(dir, 'empty.txt'), '');
  server = await startServer(app(0, dir));
  paced = await startServer(app(50, dir));
});

afterAll(async () => {
  await server.close();
  await paced.close();
});

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('large and deep bodies', () => {
  const big = 'x'.repeat(200_000);
  it.each([
    ['/v1/chat', { messages: [{ role: 'user', content: big }] }],
    ['/v1/chat/completions', { model: 'local', messages: [{ role: 'user', content: big }] }],
    ['/api/chat', { messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: big }] }] }],
    ['/v1/ag-ui', { threadId: 't', runId: 'r', messages: [{ id: 'u1', role: 'user', content: big }], tools: [], context: [], state: {}, forwardedProps: {} }],
  ])('answers a 200,000-character message on %s (not a 500)', async (path, body) => {
    const response = await post(path, JSON.stringify(body), { accept: 'text/plain' });
    expect(response.status).toBe(200);
    expect((await response.text()).length).toBeGreaterThan(0);
  });

  it('answers a 50,000-deep tool-result output with a 400 JSON error, and the server stays up', async () => {
    const deep = '['.repeat(50_000) + '1' + ']'.repeat(50_000);
    const body = `{"messages":[{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c1","toolName":"calculator","input":{}}]},{"role":"tool","content":[{"type":"tool-result","toolCallId":"c1","toolName":"calculator","output":${deep}}]}]}`;
    for (const path of ['/v1/chat', '/v1/chat/completions', '/api/chat', '/v1/ag-ui', '/v1/jobs', '/v1/events']) {
      const response = await post(path, body);
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe('invalid_request');
      expect(json.error.message).toContain('deeper than');
    }
    // A tool result 55 levels deep (60 with the body around it) is still accepted.
    const ok = `{"messages":[{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c1","toolName":"calculator","input":{}}]},{"role":"tool","content":[{"type":"tool-result","toolCallId":"c1","toolName":"calculator","output":${'['.repeat(55)}1${']'.repeat(55)}}]}]}`;
    const accepted = await post('/v1/chat', ok, { accept: 'text/plain' });
    expect(accepted.status).toBe(200);
    await accepted.text();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(errors).toEqual([]);
  });
});

describe('jsonDepth', () => {
  /** The nesting depth of a value, the slow way. */
  function depthOf(value: unknown): number {
    if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
    if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
    return 0;
  }

  it('measures the nesting of any JSON text, brackets and escapes inside strings ignored', () => {
    const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', '数', '\ud800') });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.array(tricky, { maxLength: 3 }), (value, strings) => {
        const wrapped = strings.reduce<unknown>((inner, key) => ({ [key]: [inner, key] }), value);
        expect(jsonDepth(new TextEncoder().encode(JSON.stringify(wrapped)))).toBe(depthOf(wrapped));
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});

describe('Range on an empty file', () => {
  it('answers bytes=-1 with 200 and the empty file, never 206 bytes 0--1/0', async () => {
    const response = await fetch(`${server.url}/v1/files/empty.txt`, { headers: { range: 'bytes=-1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-range')).toBeNull();
    expect(await response.text()).toBe('');
    // A range starting at 0 of an empty file stays unsatisfiable.
    const from0 = await fetch(`${server.url}/v1/files/empty.txt`, { headers: { range: 'bytes=0-' } });
    expect([from0.status, from0.headers.get('content-range')]).toEqual([416, 'bytes */0']);
  });
});

/** Opens a raw connection with reading paused. */
async function rawConnection(url = server.url): Promise<{ socket: Socket; error: () => string }> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  socket.pause();
  await new Promise((resolve) => socket.once('connect', resolve));
  let error = '';
  socket.on('error', (cause: NodeJS.ErrnoException) => (error ||= cause.code ?? cause.message));
  return { socket, error: () => error };
}

describe('413 for an upload in progress', () => {
  it.each([['content-length'], ['chunked']])('reaches a client that is still sending (%s), instead of a reset', async (framing) => {
    const { socket, error } = await rawConnection();
    const total = 32 * 1024 * 1024;
    socket.write(
      `POST /v1/chat HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${total}`}\r\n\r\n`,
    );
    const piece = Buffer.alloc(2 * 1024 * 1024, 32);
    const frame = (data: Buffer): Buffer => (framing === 'chunked' ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data);
    // The client keeps uploading, without reading, after the server has answered.
    socket.write(frame(piece));
    await sleep(100);
    for (let i = 0; i < 4 && error() === ''; i++) {
      socket.write(frame(piece));
      await sleep(50);
    }
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(error()).toBe('');
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toContain('"payload_too_large"');
  });
});

describe('HTTP/1.0 plain text that is stopped', () => {
  it('ends with a connection reset, not the clean close that would make the close-delimited body look complete', async () => {
    const { socket, error } = await rawConnection(paced.url);
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'What is backpressure?' }] });
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    let ended = false;
    socket.on('end', () => (ended = true));
    socket.resume();
    socket.write(`POST /v1/chat HTTP/1.0\r\nhost: 127.0.0.1\r\naccept: text/plain\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await expect.poll(() => /\r\n\r\n./s.test(received), { timeout: 10_000 }).toBe(true);
    // Node answers HTTP/1.0 with an HTTP/1.1 status line, and no chunked framing: the body ends at the close.
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received.toLowerCase()).not.toContain('transfer-encoding');
    const streamId = /x-stream-id: ([^\r\n]+)/i.exec(received)![1]!;
    expect((await fetch(`${paced.url}/v1/streams/${streamId}`, { method: 'DELETE' })).status).toBeLessThan(300);
    await new Promise((resolve) => socket.once('close', resolve));
    expect(error()).toBe('ECONNRESET');
    expect(ended).toBe(false);
  });

  it('still ends a complete HTTP/1.0 plain-text answer with a clean close', async () => {
    const { socket, error } = await rawConnection();
    const chunks: Buffer[] = [];
    socket.on('data', (data: Buffer) => chunks.push(data));
    let ended = false;
    socket.on('end', () => (ended = true));
    socket.resume();
    socket.write('GET /demo/numbers?count=3&interval_ms=1 HTTP/1.0\r\nhost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(error()).toBe('');
    expect(ended).toBe(true);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('数字: 2');
  });
});
