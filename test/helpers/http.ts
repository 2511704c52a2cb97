import { createServer, request, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback server for a test. */
export interface TestServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 with a random port. */
export async function startServer(handler: RequestListener): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A GET whose response can be read chunk by chunk with timestamps. */
export function get(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads the whole body; rejects when the transfer was aborted (incomplete chunked body). */
export function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve(body));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

/** Resolves with the first chunk of the body. */
export function firstChunk(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    res.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
    res.once('error', reject);
    res.once('end', () => reject(new Error('the body ended before any chunk')));
  });
}

/** A promise with its resolver, for gating producers from a test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A request a {@link startRecordingServer} received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** `performance.now()` when its body had been read. */
  at: number;
}

const recordingServers: Server[] = [];

/**
 * A loopback server that reads each request's body, records it, then calls `handle` with the
 * request's number (0, 1, …). Close them all with {@link closeRecordingServers} after each test.
 */
export async function startRecordingServer(
  handle: (req: IncomingMessage, res: ServerResponse, index: number) => void,
): Promise<{ url: string; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: performance.now() });
      handle(req, res, seen.length - 1);
    });
  });
  recordingServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen };
}

/** Closes every server {@link startRecordingServer} started, and their connections. */
export function closeRecordingServers(): void {
  for (const server of recordingServers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
}

/** Fails with `message` unless `promise` settles within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
