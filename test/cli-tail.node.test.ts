import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { closeRecordingServers, startRecordingServer } from './helpers/http.ts';
import { runTail } from '../src/cli/tail.ts';

/** A recording loopback server whose handler only needs the response and the request number. */
const serve = (handle: (res: ServerResponse, index: number) => void) => startRecordingServer((_req, res, index) => handle(res, index));

afterEach(closeRecordingServers);

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' };
const STREAM = ': ping\ndata: plain\n\nevent: text-delta\nid: 1\ndata: {"delta":"Hi"}\n\ndata: line one\ndata: line two\n\nid:\nevent: finish\ndata: {}\n\n';

function capture(): { write(text: string): boolean; text: string } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

async function tail(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runTail(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('runTail', () => {
  it('prints one JSON line per event with --json and exits 0 when the server ends the stream', async () => {
    const { url } = await serve((res) => res.writeHead(200, SSE_HEADERS).end(STREAM + 'data: unterminated'));
    const { code, stdout, stderr } = await tail([url + '/events', '--json']);
    expect(stdout).toBe(
      [
        '{"event":"message","data":"plain"}',
        '{"event":"text-delta","data":"{\\"delta\\":\\"Hi\\"}","id":"1"}',
        '{"event":"message","data":"line one\\nline two","id":"1"}',
        '{"event":"finish","data":"{}"}',
        '',
      ].join('\n'),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('prints readable [event #id] data lines without --json', async () => {
    const { url } = await serve((res) => res.writeHead(200, SSE_HEADERS).end(STREAM));
    const { code, stdout } = await tail([url]);
    expect(stdout).toBe('[message] plain\n[text-delta #1] {"delta":"Hi"}\n[message #1] line one\n             line two\n[finish] {}\n');
    expect(code).toBe(0);
  });

  it('reconnects after a dropped connection with Last-Event-ID and prints every event once', async () => {
    const { url, seen } = await serve((res, index) => {
      res.writeHead(200, SSE_HEADERS);
      if (index === 0) res.write('retry: 20\nid: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c', () => res.socket?.end());
      else res.end('id: 3\ndata: c\n\n');
    });
    const { code, stdout, stderr } = await tail([url, '--json']);
    expect(stdout).toBe('{"event":"message","data":"a","id":"1"}\n{"event":"message","data":"b","id":"2"}\n{"event":"message","data":"c","id":"3"}\n');
    expect(seen.map((request) => request.headers['last-event-id'])).toEqual([undefined, '2']);
    expect(stderr).toMatch(/dropped.*Retrying in \d+ ms \(attempt 1\)/);
    expect(code).toBe(0);
  });

  it('exits 1 after a dropped connection with --no-reconnect', async () => {
    const { url, seen } = await serve((res) => {
      res.writeHead(200, SSE_HEADERS);
      res.write('data: a\n\n', () => res.socket?.end());
    });
    const { code, stdout, stderr } = await tail([url, '--json', '--no-reconnect']);
    expect(stdout).toBe('{"event":"message","data":"a"}\n');
    expect(stderr).toMatch(/^sluice tail: The event stream from GET http:\/\/127\.0\.0\.1:\d+\/ was interrupted/);
    expect(code).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it('exits 1 with a message on an HTTP error status', async () => {
    const { url } = await serve((res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{}'));
    const { code, stdout, stderr } = await tail([url + '/x', '--json']);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^sluice tail: Request failed with status code 500 Internal Server Error: GET http:\/\/127\.0\.0\.1:\d+\/x\n$/);
    expect(code).toBe(1);
  });

  it("prints the server's JSON error message and code after the status, on one line", async () => {
    const body = JSON.stringify({ error: { code: 'stream_not_found', message: 'No stream with this id.\n\u001b[31mred' } });
    const { url } = await serve((res) => res.writeHead(404, { 'content-type': 'application/json' }).end(body));
    const { code, stdout, stderr } = await tail([url + '/v1/streams/nope', '--no-reconnect']);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^sluice tail: Request failed with status code 404 Not Found: GET http:\/\/127\.0\.0\.1:\d+\/v1\/streams\/nope — the server said: No stream with this id\. \[31mred \(stream_not_found\)\n$/,
    );
    expect(code).toBe(1);
  });

  it('exits 1 with a message on a non-SSE content type', async () => {
    const { url } = await serve((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>'));
    const { code, stderr } = await tail([url]);
    expect(stderr).toMatch(/text\/event-stream.*got `text\/html`/);
    expect(code).toBe(1);
  });

  it('sends -X, -H and -d as given', async () => {
    const { url, seen } = await serve((res) => res.writeHead(200, SSE_HEADERS).end('data: ok\n\n'));
    const { code } = await tail([url + '/v1/chat', '-X', 'PUT', '-H', 'Authorization: Bearer k', '-H', 'content-type: application/json', '-d', '{"a":1}']);
    expect(code).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/v1/chat', body: '{"a":1}' });
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer k', 'content-type': 'application/json' });
    await tail([url, '-d', 'x']);
    expect(seen[1]?.method).toBe('POST');
  });

  it('exits 2 on bad arguments', async () => {
    expect((await tail([])).code).toBe(2);
    expect((await tail(['ftp://example.com'])).code).toBe(2);
    expect((await tail(['http://127.0.0.1:1', '--bogus'])).code).toBe(2);
    expect((await tail(['http://127.0.0.1:1', '-H', 'no colon'])).code).toBe(2);
  });
});

const cli = fileURLToPath(new URL('../dist/cli/sluice.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

describe('sluice tail (built CLI)', () => {
  it('is built', () => {
    expect(existsSync(cli), 'run `npm run build` first').toBe(true);
  });

  it('prints the DESIGN.md JSON lines and exits 0 at the end of the stream', async () => {
    const { url } = await serve((res) => res.writeHead(200, SSE_HEADERS).end(STREAM));
    const { code, stdout } = await runCli(['tail', url, '--json']);
    expect(stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown)).toEqual([
      { event: 'message', data: 'plain' },
      { event: 'text-delta', data: '{"delta":"Hi"}', id: '1' },
      { event: 'message', data: 'line one\nline two', id: '1' },
      { event: 'finish', data: '{}' },
    ]);
    expect(code).toBe(0);
  });

  it('exits non-zero with a message on stderr on an HTTP error status', async () => {
    const { url } = await serve((res) => res.writeHead(404).end());
    const { code, stdout, stderr } = await runCli(['tail', url + '/v1/streams/nope', '--json']);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/status code 404 .*GET http:\/\/127\.0\.0\.1:\d+\/v1\/streams\/nope/);
    expect(code).toBe(1);
  });
});
