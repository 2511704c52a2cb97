/**
 * Content negotiation between the agent formats of `POST /v1/chat`.
 *
 * @module
 */
import { agentNdjson } from './agent-ndjson.ts';
import type { AgentFormat } from './agent-format.ts';
import { agentSse } from './agent-sse.ts';
import { agentText } from './agent-text.ts';
import type { PaddingOption } from './padding.ts';
import type { ErrorEvent } from './types.ts';

/** The agent formats a client can ask for with `Accept`. */
export type AgentFormatName = 'sse' | 'ndjson' | 'text';

/** Media types of each format, in order of preference when the client likes several equally. */
const CANDIDATES: readonly { name: AgentFormatName; type: string; subtypes: readonly string[] }[] = [
  { name: 'sse', type: 'text', subtypes: ['event-stream'] },
  { name: 'ndjson', type: 'application', subtypes: ['x-ndjson', 'ndjson', 'jsonl', 'x-jsonlines'] },
  { name: 'text', type: 'text', subtypes: ['plain'] },
];

/**
 * Picks the agent format an `Accept` header asks for: `text/plain` → text, `application/x-ndjson`
 * (or `application/ndjson`) → NDJSON, anything else (no header, `*∕*`, `text/event-stream`,
 * types sluice does not serve) → SSE. The highest q-value wins; the most specific range gives a
 * type its q-value; an exact type beats a wildcard at equal q; `q=0` refuses a type.
 * @param accept - the `Accept` header, or null when there is none
 * @returns the name of the format to answer with
 */
export function pickAgentFormat(accept: string | null | undefined): AgentFormatName {
  if (accept === null || accept === undefined || accept.trim() === '') return 'sse';
  // For each candidate: its q (from the most specific matching range) and how specific that range was.
  const q = [-1, -1, -1];
  const specificity = [-1, -1, -1];
  for (const range of accept.split(',')) {
    const semicolon = range.indexOf(';');
    const mediaType = (semicolon === -1 ? range : range.slice(0, semicolon)).trim().toLowerCase();
    const slash = mediaType.indexOf('/');
    if (slash === -1) continue;
    const type = mediaType.slice(0, slash);
    const subtype = mediaType.slice(slash + 1);
    let quality = 1;
    if (semicolon !== -1) {
      for (const parameter of range.slice(semicolon + 1).split(';')) {
        const equals = parameter.indexOf('=');
        if (equals !== -1 && parameter.slice(0, equals).trim().toLowerCase() === 'q') {
          const value = Number(parameter.slice(equals + 1).trim());
          quality = Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 1;
        }
      }
    }
    CANDIDATES.forEach((candidate, index) => {
      const level = type === '*' ? 0 : type !== candidate.type ? -1 : subtype === '*' ? 1 : candidate.subtypes.includes(subtype) ? 2 : -1;
      if (level > specificity[index]!) {
        specificity[index] = level;
        q[index] = quality;
      }
    });
  }
  let best: AgentFormatName = 'sse';
  let bestQ = 0;
  let bestSpecificity = -1;
  CANDIDATES.forEach((candidate, index) => {
    const quality = q[index]!;
    if (quality > bestQ || (quality === bestQ && quality > 0 && specificity[index]! > bestSpecificity)) {
      best = candidate.name;
      bestQ = quality;
      bestSpecificity = specificity[index]!;
    }
  });
  return best;
}

/**
 * The agent format an `Accept` header asks for (see {@link pickAgentFormat}), ready to stream.
 * @param accept - the `Accept` header, or null when there is none
 * @param options - token-length padding (for all three formats); the status plain text answers an
 * `error` before its first byte with (see `AgentTextOptions.errorStatus`)
 * @returns a fresh format for one response
 * @example
 * ```ts
 * await sendStream(res, events, { format: negotiateAgentFormat(req.headers.accept ?? null) })
 * ```
 */
export function negotiateAgentFormat(
  accept: string | null | undefined,
  options: { padding?: PaddingOption; errorStatus?: (event: ErrorEvent) => number } = {},
): AgentFormat {
  const name = pickAgentFormat(accept);
  const padding = options.padding === undefined ? {} : { padding: options.padding };
  if (name === 'text') return agentText(options.errorStatus === undefined ? padding : { ...padding, errorStatus: options.errorStatus });
  return name === 'ndjson' ? agentNdjson(padding) : agentSse(padding);
}
