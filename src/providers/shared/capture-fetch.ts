/**
 * A `fetch` wrapper that remembers the URL of the last request and the body of the last error
 * response, read up to a bound, so a {@link ProviderError} can carry `url` and `responseBody`
 * verbatim (the SDKs keep only the parsed JSON).
 *
 * @module
 */

/** The most of an error response's body that is read: error documents are small; the rest is cancelled unread. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** What {@link createCapturingFetch} saw. */
export interface FetchCapture {
  /** The fetch to give the SDK. */
  fetch: typeof fetch;
  /** The URL of the last request. */
  url: string | undefined;
  /** The body text of the last non-2xx response, at most {@link MAX_ERROR_BODY_BYTES} bytes of it. */
  errorBody: string | undefined;
}

/**
 * Reads at most `limit` bytes of a body as UTF-8 text, then cancels the rest, so a huge or endless
 * error body from a misbehaving upstream cannot hold memory or the request open.
 * @param body - the response body, or null
 * @param limit - the most bytes to read
 * @returns the text of the bytes read (a character cut at the bound becomes U+FFFD)
 */
export async function readBoundedText(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      const part = value.byteLength > limit - size ? value.subarray(0, limit - size) : value;
      size += part.byteLength;
      text += decoder.decode(part, { stream: true });
    }
    // The bound was reached: drop the rest unread (this closes the upstream connection).
    await reader.cancel(new RangeError(`Error body longer than ${limit} bytes; the rest was not read.`));
    return text + decoder.decode();
  } finally {
    reader.releaseLock();
  }
}

/**
 * Wraps `baseFetch` so that the last URL and error body are kept.
 * @param baseFetch - the fetch to call
 * @returns the wrapper and what it saw
 */
export function createCapturingFetch(baseFetch: typeof fetch): FetchCapture {
  const capture: FetchCapture = {
    url: undefined,
    errorBody: undefined,
    fetch: async (input, init) => {
      capture.url = input instanceof Request ? input.url : String(input);
      const response = await baseFetch(input, init);
      if (response.ok) return response;
      const text = await readBoundedText(response.body, MAX_ERROR_BODY_BYTES);
      capture.errorBody = text;
      // The SDK reads the body again; it gets the same bounded text.
      return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    },
  };
  return capture;
}
