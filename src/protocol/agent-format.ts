/**
 * The format type of the agent codecs that have an in-band abort signal.
 *
 * @module
 */
import type { Format } from '../core/types.ts';
import type { AgentEvent } from './types.ts';

/**
 * An agent codec that can end a stream stopped from outside (its `signal`) after the head was
 * sent: `encodeAbort(reason)` gives the same bytes as encoding `{type: 'abort', reason}`, so the
 * client sees the codec's own abort signal and a clean end instead of an aborted transfer.
 * (Plain text has no such signal; `agentText()` is a plain `Format` and its transfer is aborted.)
 */
export type AbortableAgentFormat = Omit<Format<AgentEvent>, 'encodeAbort'> & {
  /**
   * Encodes the end of a stream stopped from outside, as the codec's own abort signal.
   * @param reason - why it was stopped, shown to the client where the codec has a place for it
   * @returns the bytes to write before the response ends (empty when the stream already ended)
   */
  encodeAbort(reason: string): string;
};
