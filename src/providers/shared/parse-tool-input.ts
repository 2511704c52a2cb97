/**
 * Parses a tool call's complete input JSON text.
 *
 * @module
 */

/**
 * Parses the input JSON a model streamed for a tool call. An empty text is `{}` (a call without
 * arguments); text that is not JSON (a call cut off by `length`) is returned as the raw string so
 * the caller can still see it.
 * @param text - the concatenated argument fragments
 * @returns the parsed input
 */
export function parseToolInput(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Deliberately not an error: the stream itself is fine, only this call's input is unusable.
    return text;
  }
}
