/**
 * The replay test kit (`sluice/replay`, Node only): a local server that plays recorded provider
 * responses byte for byte, with random read splits, a slow drip, drops, stalls and HTTP errors,
 * and records what it received and when each connection closed.
 *
 * @module
 */
export { createReplayServer } from './create-replay-server.ts';
export type { ReplayHandler, ReplayRequest, ReplayResponse, ReplayServer, ReplayServerOptions } from './create-replay-server.ts';
export { BUNDLED_FIXTURES, readReplayFixture } from './read-replay-fixture.ts';
export { splitBody } from './split-body.ts';
export type { ReplayChunking } from './split-body.ts';
export { createSeededRandom } from './seeded-random.ts';
