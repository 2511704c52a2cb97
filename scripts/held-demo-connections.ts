/**
 * Replays issue 16's connection-cap attack against a real `sluice serve`: N held `/demo/numbers`
 * responses (default 10,000, the default connection cap) from one client, then `/healthz` and
 * `/readyz` must still answer 200 while any other route over the cap gets a clear 503.
 * Usage: node scripts/held-demo-connections.ts [--connections N]. Loopback only; stops by itself.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '10000' } } });
const connections = Number(values.connections);

const port = await new Promise<number>((resolve) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as AddressInfo;
    probe.close(() => resolve(free));
  });
});
// Per-address follower limit off, so one client can hold the whole cap (the attack of the issue).
const server = spawn(process.execPath, ['dist/cli/sluice.js', 'serve'], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SLUICE_LIMIT_FOLLOWERS: '0', SLUICE_MAX_CONNECTIONS: String(connections) },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
/** A request on a new connection of its own (a pooled one would have been let in before the cap filled). */
const probe = (path: string): Promise<string> =>
  new Promise((resolve) => {
    const t = Date.now();
    const req = request(`${base}${path}`, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${path} ${res.statusCode} in ${Date.now() - t} ms`));
    });
    req.on('error', (error) => resolve(`${path} ${error.message}`));
    req.end();
  });
for (let i = 0; ; i++) {
  if ((await probe('/healthz')).startsWith('/healthz 200')) break;
  if (i > 200) throw new Error('sluice serve did not start');
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
let held = 0;
const statuses: Record<string, number> = {};
const requests = [];
const started = Date.now();
for (let i = 0; i < connections; i++) {
  requests.push(
    new Promise<void>((resolve) => {
      const req = request(`${base}/demo/numbers?count=12&interval_ms=10000`, { agent }, (res) => {
        statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
        if (res.statusCode === 200) held++;
        res.on('data', () => {});
        resolve();
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        statuses[error.code ?? 'error'] = (statuses[error.code ?? 'error'] ?? 0) + 1;
        resolve();
      });
      req.end();
    }),
  );
  if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 20));
}
await Promise.all(requests);
console.log(`held ${held} of ${connections} /demo/numbers responses open (opened in ${Date.now() - started} ms): ${JSON.stringify(statuses)}`);
console.log(await probe('/healthz'));
console.log(await probe('/readyz'));
console.log(await probe('/v1/models'));
agent.destroy();
server.kill('SIGTERM');
