/**
 * A `fetch` wrapper that remembers the URL of the last request and the exact body of the last
 * error response, so a {@link ProviderError} can carry `url` and `responseBody` verbatim (the SDKs
 * keep only the parsed JSON).
 *
 * @module
 */

/** What {@link createCapturingFetch} saw. */
export interface FetchCapture {
  /** The fetch to give the SDK. */
  fetch: typeof fetch;
  /** The URL of the last request. */
  url: string | undefined;
  /** The body text of the last non-2xx response. */
  errorBody: string | undefined;
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
      // Error bodies are small JSON documents; reading one whole is bounded and needed verbatim.
      const text = await response.text();
      capture.errorBody = text;
      return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    },
  };
  return capture;
}
