/**
 * An `--import` hook for a W5 row's server (not part of `npm run bench`): times every socket
 * write the process makes (`net.Socket`'s `_writeGeneric`, where a write of a response reaches the
 * socket) and prints their count and mean wall time on exit: what the writes cost, to compare
 * with what a `--cpu-prof` profile attributes to the native write call (`writeUtf8String`).
 *
 * Run: W5_PEERS=direct-agent-tools,api-chat W5_CLIENTS=300 W5_REDIS_CLIENTS= W5_NODE_ARGS="--import ./bench/time-socket-writes.ts" npm run bench -- w5
 *
 * @module
 */
import { Socket } from 'node:net';

type WriteGeneric = (this: Socket, writev: boolean, data: unknown, encoding: string, callback: (error?: Error | null) => void) => unknown;

const proto = Socket.prototype as unknown as { _writeGeneric: WriteGeneric };
const write = proto._writeGeneric;
let count = 0;
let total = 0n;
proto._writeGeneric = function timed(this: Socket, writev, data, encoding, callback) {
  const start = process.hrtime.bigint();
  const result = write.call(this, writev, data, encoding, callback);
  total += process.hrtime.bigint() - start;
  count++;
  return result;
};
process.on('exit', () => {
  process.stderr.write(`socket writes: ${count}, mean ${count === 0 ? 0 : (Number(total) / count / 1000).toFixed(2)} µs (pid ${process.pid})\n`);
});
