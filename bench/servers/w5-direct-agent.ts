/**
 * The W5 bench's `direct-agent` and `direct-agent-tools` rows (bench/w5-agent-chats.bench.ts): the
 * direct path (`w5-direct.ts`) with the `local` model run by `runAgent` — without tools, or with
 * the server's built-in tools offered (`W5_DIRECT_TOOLS=1`, what `/api/chat` runs) — still straight
 * to the response, no run, no store. What the agent loop and the tools cost before the server's
 * own path.
 *
 * Run: PORT=… SLUICE_LOCAL_TPS=… SLUICE_LOCAL_TTFT_MS=… [W5_DIRECT_TOOLS=1] [SLUICE_PADDING=off] node bench/servers/w5-direct-agent.ts
 *
 * @module
 */
import { runAgent } from '../../src/agent/run-agent.ts';
import { createBuiltinTools } from '../../src/agent/tools/builtin-tools.ts';
import { createLocalProvider } from '../../src/providers/local/local-language-model.ts';
import { serveDirect } from './w5-direct-server.ts';

const local = createLocalProvider();
const tools = process.env.W5_DIRECT_TOOLS === '1' ? createBuiltinTools() : undefined;
serveDirect((question, signal) =>
  runAgent({ provider: local, model: 'local', messages: [{ role: 'user', content: question }], ...(tools === undefined ? {} : { tools }), signal }),
);
