/**
 * Reads a stream's log straight from Redis (XRANGE on `sluice:{<id>}:log`), the checker's ground
 * truth: what the store holds, not what a response made of it. A minimal RESP2 client on one
 * connection, enough for XRANGE's nested arrays.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';

type Reply = string | number | null | Reply[];

/** Parses one RESP2 reply at `offset`; undefined when the buffer holds only part of it. */
function parse(buffer: Buffer, offset: number): [Reply, number] | undefined {
  const end = buffer.indexOf('\r\n', offset);
  if (end === -1) return undefined;
  const kind = String.fromCharCode(buffer[offset] as number);
  const head = buffer.toString('utf8', offset + 1, end);
  const next = end + 2;
  switch (kind) {
    case '+':
      return [head, next];
    case '-':
      throw new Error(`Redis: ${head}`);
    case ':':
      return [Number(head), next];
    case '$': {
      const length = Number(head);
      if (length === -1) return [null, next];
      if (buffer.length < next + length + 2) return undefined;
      return [buffer.toString('utf8', next, next + length), next + length + 2];
    }
    case '*': {
      const count = Number(head);
      if (count === -1) return [null, next];
      const items: Reply[] = [];
      let at = next;
      for (let index = 0; index < count; index++) {
        const item = parse(buffer, at);
        if (item === undefined) return undefined;
        items.push(item[0]);
        at = item[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`Redis: unexpected reply type ${JSON.stringify(kind)}`);
  }
}

/** One event of a log: its id (the entry `<n>-0`) and the event object. */
export interface LogEntry {
  readonly id: number;
  readonly event: Record<string, unknown>;
}

/** A connection that reads logs. */
export interface LogReader {
  /** The stream's log, oldest first; an empty list when Redis has no such stream (or lost it). */
  read(streamId: string): Promise<LogEntry[]>;
  close(): void;
}

/**
 * Opens a reader on Redis at `port`.
 * @param port - the suite's Redis
 * @param keyPrefix - the store's key prefix (`sluice:` by default)
 */
export async function openLogReader(port: number, keyPrefix = 'sluice:'): Promise<LogReader> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer: Buffer = Buffer.alloc(0);
  const waiting: { resolve: (reply: Reply) => void; reject: (error: unknown) => void }[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (waiting.length === 0 || buffer.length === 0) return;
      let parsed: [Reply, number] | undefined;
      try {
        parsed = parse(buffer, 0);
      } catch (error) {
        // An error reply: it answers the oldest command; skip its line.
        const end = buffer.indexOf('\r\n');
        buffer = buffer.subarray(end + 2);
        waiting.shift()?.reject(error);
        continue;
      }
      if (parsed === undefined) return;
      buffer = buffer.subarray(parsed[1]);
      waiting.shift()?.resolve(parsed[0]);
    }
  });
  socket.on('error', (error) => {
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  });
  const command = (args: string[]): Promise<Reply> =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
    });
  return {
    async read(streamId) {
      const reply = (await command(['XRANGE', `${keyPrefix}{${streamId}}:log`, '-', '+'])) as [string, string[]][];
      return reply.map(([id, fields]) => ({ id: Number(id.slice(0, id.indexOf('-'))), event: JSON.parse(fields[1] as string) as Record<string, unknown> }));
    },
    close() {
      socket.destroy();
    },
  };
}
