/**
 * The W5 bench's direct path (bench/w5-agent-chats.bench.ts): the `local` model streamed straight
 * to the response with `sendStream` in the AI SDK UI message stream format — no run, no store, no
 * agent loop. What an agent chat costs before the run manager and the store add theirs.
 *
 * Run: PORT=… SLUICE_LOCAL_TPS=… SLUICE_LOCAL_TTFT_MS=… [SLUICE_PADDING=off] node bench/servers/w5-direct.ts
 *
 * @module
 */
import { createLocalProvider } from '../../src/providers/local/local-language-model.ts';
import { serveDirect } from './w5-direct-server.ts';

const local = createLocalProvider();
serveDirect((question, signal) => local({ model: 'local', messages: [{ role: 'user', content: question }] }, { signal }));
