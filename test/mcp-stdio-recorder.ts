/**
 * A stdio MCP server seen from outside: `node mcp-stdio-recorder.ts LOG COMMAND ARGS…` runs the
 * server and passes stdin and stdout through, appending every line the client sends to LOG. The
 * MCP tests use it to see that `notifications/cancelled` reached the server's process.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [log, command, ...args] = process.argv.slice(2);
if (log === undefined || command === undefined) throw new TypeError('Usage: mcp-stdio-recorder.ts LOG COMMAND [ARGS…]');
const child = spawn(command, args, { stdio: ['pipe', 'inherit', 'inherit'] });
createInterface({ input: process.stdin }).on('line', (line) => {
  appendFileSync(log, `${line}\n`);
  child.stdin.write(`${line}\n`);
});
process.stdin.on('end', () => child.stdin.end());
child.on('exit', (code) => process.exit(code ?? 0));
process.on('SIGTERM', () => child.kill('SIGTERM'));
