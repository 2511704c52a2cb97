/**
 * A request Node's HTTP parser refuses (it never reaches the app) still gets the server's JSON
 * error shape, `{"error":{"code","message"}}`, with the status Node would send, and is closed.
 */
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLimitedServer } from '../src/server/limits.ts';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function listen(): Promise<number> {
  const server = createLimitedServer((_req, res) => res.end('ok'), { headersTimeoutMs: 2_000, requestTimeoutMs: 5_000 });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends `bytes` on a new connection and reads until the server closes it. */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(bytes);
    setTimeout(() => socket.destroy(new Error(`no close within 5 s; got ${JSON.stringify(received)}`)), 5_000).unref();
  });
}

function jsonBody(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

describe('requests the HTTP parser refuses', () => {
  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a header line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
    ['random bytes', '\x00\x01\x02\xff\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ])('%s: 400 with a JSON error and a code, then closed', async (_name, bytes) => {
    const response = await exchange(await listen(), bytes);
    expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(response).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/);
    expect(response).toMatch(/\r\nconnection: close\r\n/);
    expect(jsonBody(response)).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
  });

  it('headers over the size limit: 431 with a JSON error', async () => {
    const response = await exchange(await listen(), `GET / HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expect(jsonBody(response)).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
  });

  it('a well-formed request on the same server is still answered by the app', async () => {
    const response = await exchange(await listen(), 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response.endsWith('ok')).toBe(true);
  });
});
