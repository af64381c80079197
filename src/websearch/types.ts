// The web search service's vocabulary: the provider interface the engine calls for a web_search tool call, what
// one result is, the options of one search and the one error type every failure becomes.

export type WebSearchProviderKind = 'searxng' | 'brave' | 'tavily'

/** One search result as the model and the web_search_call item see it. */
export interface WebSearchSource {
  url: string
  title: string
  snippet: string
}

export interface WebSearchOptions {
  /** filters.allowed_domains of the request's tool: only results on these domains (and their subdomains) */
  allowedDomains?: readonly string[]
  /** how many results at most (default 5; search_context_size low/medium/high may map to 3/5/10); 1–20 */
  limit?: number
  signal?: AbortSignal
  /** ms; default from config (--web-search-timeout-ms) */
  timeoutMs?: number
}

export interface WebSearchProvider {
  readonly kind: WebSearchProviderKind
  /** Runs one search. Throws WebSearchError (message safe for the client and the model) on any failure. */
  search(query: string, opts?: WebSearchOptions): Promise<WebSearchSource[]>
}

/** Why a search failed, for callers that treat some failures differently (a cancelled turn is not a failed search). */
export type WebSearchFailure = 'cancelled' | 'timeout' | 'unreachable' | 'rejected' | 'http_status' | 'bad_response' | 'invalid_request'

/**
 * A search that did not produce results. The message says what failed, where (the provider's redacted URL, never a
 * key) and why in plain words, so it can be shown to the client and given to the model as the call's output.
 */
export class WebSearchError extends Error {
  constructor(
    message: string,
    readonly failure: WebSearchFailure = 'bad_response',
  ) {
    super(message)
    this.name = 'WebSearchError'
  }
}

/** The defaults and bounds of `limit`. */
export const DEFAULT_RESULT_LIMIT = 5
export const MAX_RESULT_LIMIT = 20
