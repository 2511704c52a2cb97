/**
 * The Node path writes each text chunk of a chunked body straight to the socket, framed by hand
 * (size line, data, CRLF) in one write. These tests read the raw bytes off the socket, so a wrong
 * size line, a lost `drain`, or a response that overtakes the one before it on a keep-alive
 * connection would show.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { sendStream } from '../src/core/node/index.ts';
import { sleep } from '../src/core/sleep.ts';
import type { StreamResult } from '../src/core/types.ts';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Sends `raw` on a new connection and returns every byte the server sent until it closed. */
async function exchange(port: number, raw: string): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'connect');
  socket.write(raw);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

/** Splits a response into its head and its chunked body, checking every size line against the bytes that follow it. */
function parseChunked(bytes: Buffer, from = 0): { head: string; chunks: Buffer[]; end: number } {
  const headEnd = bytes.indexOf('\r\n\r\n', from);
  expect(headEnd).toBeGreaterThan(-1);
  const head = bytes.toString('latin1', from, headEnd);
  expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
  const chunks: Buffer[] = [];
  let at = headEnd + 4;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    expect(lineEnd).toBeGreaterThan(-1);
    const size = Number.parseInt(bytes.toString('latin1', at, lineEnd), 16);
    expect(Number.isNaN(size)).toBe(false);
    at = lineEnd + 2;
    if (size === 0) {
      expect(bytes.toString('latin1', at, at + 2)).toBe('\r\n');
      return { head, chunks, end: at + 2 };
    }
    chunks.push(bytes.subarray(at, at + size));
    expect(bytes.toString('latin1', at + size, at + size + 2)).toBe('\r\n');
    at += size + 2;
  }
}

const TEXTS = ['数字 1\n', 'emoji 🎉 ok\n', 'plain ascii\n', 'Ünïcödé ß\n', '𝄞 and 中文 mixed\n'];

/** TEXTS, 5 ms apart: one write each (the first carries the head, the others go straight to the socket). */
async function* texts(): AsyncGenerator<string> {
  for (const text of TEXTS) {
    await sleep(5);
    yield text;
  }
}

it('frames every chunk with its size in UTF-8 bytes, Chinese and emoji included', async () => {
  let result: Promise<StreamResult> | undefined;
  const port = await listen((_req, res) => {
    result = sendStream(res, texts);
  });
  const bytes = await exchange(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  const { chunks } = parseChunked(bytes);
  expect(chunks.length).toBe(TEXTS.length);
  expect(chunks.map((chunk) => chunk.toString('utf8'))).toEqual(TEXTS);
  const outcome = await result!;
  expect(outcome.outcome).toBe('completed');
  expect(outcome.bytes).toBe(Buffer.byteLength(TEXTS.join('')));
});

it('waits for a client that stops reading and goes on when it reads again', async () => {
  const piece = 'x'.repeat(60 * 1024) + '中\n';
  const pieces = 200; // ~12 MB: far more than the socket buffers hold
  let produced = 0;
  let result: Promise<StreamResult> | undefined;
  const port = await listen((_req, res) => {
    result = sendStream(res, async function* () {
      for (let i = 0; i < pieces; i++) {
        await sleep(0);
        produced++;
        yield piece;
      }
    });
  });
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  await once(socket, 'data');
  socket.pause();
  await sleep(500);
  // The producer was held back by the full socket, not run to the end.
  const whilePaused = produced;
  expect(whilePaused).toBeLessThan(pieces);
  await sleep(200);
  expect(produced).toBe(whilePaused);
  socket.resume();
  await once(socket, 'close');
  const { chunks: body } = parseChunked(Buffer.concat(chunks));
  const text = Buffer.concat(body).toString('utf8');
  expect(text.length).toBe(piece.length * pieces);
  expect(text).toBe(piece.repeat(pieces));
  expect((await result!).outcome).toBe('completed');
});

it('keeps pipelined streams on one connection in order, each whole', async () => {
  const port = await listen((req, res) => {
    const name = req.url!.slice(1);
    void sendStream(res, async function* () {
      for (let i = 0; i < 5; i++) {
        await sleep(10);
        yield `${name} ${i}\n`;
      }
    });
  });
  const bytes = await exchange(port, 'GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  const first = parseChunked(bytes);
  expect(Buffer.concat(first.chunks).toString()).toBe('a 0\na 1\na 2\na 3\na 4\n');
  const second = parseChunked(bytes, first.end);
  expect(Buffer.concat(second.chunks).toString()).toBe('b 0\nb 1\nb 2\nb 3\nb 4\n');
  expect(second.end).toBe(bytes.length);
});

it('sends an HTTP/1.0 client the body unframed, ended by closing the connection', async () => {
  const port = await listen((_req, res) => {
    void sendStream(res, texts);
  });
  const bytes = await exchange(port, 'GET / HTTP/1.0\r\nhost: x\r\n\r\n');
  const headEnd = bytes.indexOf('\r\n\r\n');
  expect(bytes.toString('latin1', 0, headEnd).toLowerCase()).not.toContain('transfer-encoding');
  expect(bytes.subarray(headEnd + 4).toString('utf8')).toBe(TEXTS.join(''));
});

it('answers a HEAD with the head alone and still ends the stream', async () => {
  let result: Promise<StreamResult> | undefined;
  const port = await listen((_req, res) => {
    result = sendStream(res, texts);
  });
  const bytes = await exchange(port, 'HEAD / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  const text = bytes.toString('latin1');
  expect(text.startsWith('HTTP/1.1 200')).toBe(true);
  expect(text.endsWith('\r\n\r\n')).toBe(true);
  expect((await result!).outcome).toBe('completed');
});
