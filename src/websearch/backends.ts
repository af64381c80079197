// The three providers' wire shapes: how a query becomes a request to SearXNG, Brave or Tavily, and how each one's
// answer becomes raw results. Everything shared (limits, domains, cleaning, errors) lives in provider.ts.

import { siteQuery } from './domains'
import type { ProviderCall } from './http'
import type { WebSearchProviderKind } from './types'

/** One result as a provider sent it, before cleaning and filtering. */
export interface RawResult {
  url: unknown
  title: unknown
  snippet: unknown
}

/** What one provider contributes to a search. */
export interface Backend {
  readonly kind: WebSearchProviderKind
  readonly label: string
  /** the request for `query` (already narrowed by site: where the provider needs it), asking for `count` results */
  request(query: string, domains: readonly string[], count: number): Omit<ProviderCall, 'signal' | 'timeoutMs'>
  /** the results of an answer, or null when the answer is not this provider's shape */
  results(answer: unknown): RawResult[] | null
}

export const DEFAULT_BASE_URL: Record<WebSearchProviderKind, string | null> = {
  searxng: null,
  brave: 'https://api.search.brave.com/res/v1',
  tavily: 'https://api.tavily.com',
}

/**
 * The endpoint under a configured base URL: `base/path`, unless the base already ends with that path (someone gave
 * the endpoint itself). The base's own query parameters are kept.
 */
export function endpoint(base: string, path: string): URL {
  const url = new URL(base)
  const trimmed = url.pathname.replace(/\/+$/, '')
  url.pathname = trimmed.endsWith(path) ? trimmed : `${trimmed}${path}`
  return url
}

const record = (x: unknown): Record<string, unknown> | null =>
  typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null

/**
 * The results in `list` (objects with url, title and the snippet under `snippetField`; anything else skipped), or
 * null when it is no array.
 */
function rawResults(list: unknown, snippetField: string): RawResult[] | null {
  if (!Array.isArray(list)) return null
  return list
    .map(record)
    .filter((r): r is Record<string, unknown> => r !== null)
    .map((r) => ({ url: r.url, title: r.title, snippet: r[snippetField] }))
}

/**
 * SearXNG's JSON API: `GET /search?q=…&format=json` → `{query, results:[{url, title, content, …}], …}`. It has no
 * result count parameter (a page is about 20) nor a domain filter, so domains go into the query as `site:`.
 * A key, when given, is sent as a bearer token (for an instance behind an authenticating proxy).
 */
export function searxngBackend(base: string, key: string | null): Backend {
  return {
    kind: 'searxng',
    label: 'SearXNG',
    request(query, domains) {
      const url = endpoint(base, '/search')
      url.searchParams.set('q', siteQuery(query, domains))
      url.searchParams.set('format', 'json')
      url.searchParams.set('pageno', '1')
      return {
        label: 'SearXNG',
        method: 'GET',
        url,
        headers: key ? { authorization: `Bearer ${key}` } : undefined,
        // SearXNG answers 403 to format=json unless its settings.yml lists json under search.formats.
        explainStatus: (status) =>
          status === 403 ? 'the SearXNG instance refused format=json; enable json under search.formats in its settings.yml' : undefined,
      }
    },
    results(answer) {
      return rawResults(record(answer)?.results, 'content')
    },
  }
}

/**
 * Brave's Web Search API: `GET …/web/search?q=…&count=N` with the key in `X-Subscription-Token` →
 * `{web:{results:[{url, title, description}]}}` (no `web` at all when nothing was found). count is at most 20.
 */
export function braveBackend(base: string, key: string): Backend {
  return {
    kind: 'brave',
    label: 'Brave',
    request(query, domains, count) {
      const url = endpoint(base, '/web/search')
      url.searchParams.set('q', siteQuery(query, domains))
      // With a domain filter, ask for a full page: some results may be dropped by the filter afterwards.
      url.searchParams.set('count', String(domains.length ? 20 : count))
      return { label: 'Brave', method: 'GET', url, headers: { 'x-subscription-token': key } }
    },
    results(answer) {
      const body = record(answer)
      if (!body) return null
      // A query without results comes back without `web`; a body that is no search answer has no `type` either.
      if (body.web === undefined) return body.type === 'search' || body.query !== undefined ? [] : null
      return rawResults(record(body.web)?.results, 'description')
    },
  }
}

/**
 * Tavily's search API: `POST …/search` with `Authorization: Bearer KEY` and a JSON body `{query, max_results,
 * include_domains, search_depth}` → `{results:[{url, title, content, score}]}`. It filters domains itself.
 */
export function tavilyBackend(base: string, key: string): Backend {
  return {
    kind: 'tavily',
    label: 'Tavily',
    request(query, domains, count) {
      return {
        label: 'Tavily',
        method: 'POST',
        url: endpoint(base, '/search'),
        headers: { authorization: `Bearer ${key}` },
        json: {
          query,
          max_results: count,
          search_depth: 'basic',
          include_answer: false,
          include_raw_content: false,
          include_images: false,
          ...(domains.length ? { include_domains: domains } : {}),
        },
      }
    },
    results(answer) {
      return rawResults(record(answer)?.results, 'content')
    },
  }
}
