/**
 * The store layer: the stream log behind resume, fan-out, stop requests and the detach grace, and
 * the topics of event push. This entry holds the contract and the memory backend; the Redis
 * backend is the separate entry `store/redis.ts`, the only module that loads the Redis client.
 *
 * @module
 */
export { createMemoryStore } from './memory.ts';
export type { MemoryStoreOptions } from './memory.ts';
export { StoreError, isStoreError, STORE_ERROR_CODES, PRODUCER_LOST } from './errors.ts';
export type { StoreErrorCode } from './errors.ts';
export type {
  CreateStreamOptions,
  LeaseSet,
  PublishOptions,
  QuotaBackend,
  ReadOptions,
  StoreOptions,
  StoredEvent,
  StreamInfo,
  StreamStore,
  StreamWriter,
  TerminalEvent,
  TopicEvent,
} from './types.ts';
