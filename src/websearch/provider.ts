// A WebSearchProvider: one search through the configured backend, with what every provider shares — the query and
// limit checks, allowed_domains (in the provider's query where it can, and always on the results), cleaning,
// de-duplication — and the factory that builds it from the Config.

import type { Config } from '../config'
import type { Logger } from '../log'
import { redactUrl } from '../upstream/redact'
import { type Backend, braveBackend, DEFAULT_BASE_URL, endpoint, searxngBackend, tavilyBackend } from './backends'
import { normalizeDomain, urlAllowed } from './domains'
import { cleanText, MAX_SNIPPET_CHARS, MAX_TITLE_CHARS } from './format'
import { callProvider, unexpectedAnswer } from './http'
import {
  DEFAULT_RESULT_LIMIT,
  MAX_RESULT_LIMIT,
  type WebSearchOptions,
  type WebSearchProvider,
  type WebSearchProviderKind,
  type WebSearchSource,
  WebSearchError,
} from './types'

/** Longest query passed on, in characters (Brave takes 400; a model's query is a line, not a document). */
export const MAX_QUERY_CHARS = 400

export interface WebSearchProviderSettings {
  kind: WebSearchProviderKind
  /** base URL; null: the public API of brave/tavily (required for searxng) */
  url: string | null
  key: string | null
  timeoutMs: number
}

/** The allowed_domains entries normalised; a WebSearchError (invalid_request) names an entry that is no domain. */
function allowedDomains(entries: readonly string[] | undefined): string[] {
  const out = new Set<string>()
  for (const entry of entries ?? []) {
    const d = typeof entry === 'string' ? normalizeDomain(entry) : null
    if (d === null)
      throw new WebSearchError(
        `filters.allowed_domains: ${JSON.stringify(String(entry).slice(0, 100))} is not a domain name (expected e.g. "example.com")`,
        'invalid_request',
      )
    out.add(d)
  }
  return [...out]
}

function resultLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_RESULT_LIMIT
  return Math.min(MAX_RESULT_LIMIT, Math.max(1, Math.floor(limit)))
}

/** A provider over one backend. */
export function createWebSearchProvider(settings: WebSearchProviderSettings): WebSearchProvider {
  const base = settings.url ?? DEFAULT_BASE_URL[settings.kind]
  if (base === null) throw new Error(`the web search provider ${settings.kind} needs a URL`)
  const backend = backendFor(settings.kind, base, settings.key)
  return {
    kind: settings.kind,
    async search(query: string, opts: WebSearchOptions = {}): Promise<WebSearchSource[]> {
      const q = typeof query === 'string' ? query.replace(/\s+/g, ' ').trim() : ''
      if (q === '') throw new WebSearchError('the search query is empty', 'invalid_request')
      if (q.length > MAX_QUERY_CHARS)
        throw new WebSearchError(`the search query is longer than ${MAX_QUERY_CHARS} characters`, 'invalid_request')
      const domains = allowedDomains(opts.allowedDomains)
      const limit = resultLimit(opts.limit)
      const call = backend.request(q, domains, limit)
      const answer = await callProvider({ ...call, signal: opts.signal, timeoutMs: opts.timeoutMs ?? settings.timeoutMs })
      const raw = backend.results(answer)
      if (raw === null) throw unexpectedAnswer(call, 'a results list')
      const seen = new Set<string>()
      const sources: WebSearchSource[] = []
      for (const r of raw) {
        if (typeof r.url !== 'string' || !/^https?:\/\//i.test(r.url)) continue
        // Whatever the provider did with the query, a result off the list never reaches the model.
        if (domains.length && !urlAllowed(r.url, domains)) continue
        if (seen.has(r.url)) continue
        seen.add(r.url)
        sources.push({ url: r.url, title: cleanText(r.title, MAX_TITLE_CHARS), snippet: cleanText(r.snippet, MAX_SNIPPET_CHARS) })
        if (sources.length === limit) break
      }
      return sources
    },
  }
}

function backendFor(kind: WebSearchProviderKind, base: string, key: string | null): Backend {
  switch (kind) {
    case 'searxng':
      return searxngBackend(base, key)
    case 'brave':
    case 'tavily':
      // loadConfig refuses brave and tavily without a key; a caller building one by hand gets the same rule.
      if (!key) throw new Error(`the web search provider ${kind} needs its API key (AGENTGATE_WEB_SEARCH_KEY)`)
      return kind === 'brave' ? braveBackend(base, key) : tavilyBackend(base, key)
  }
}

/** Where searches go, for logs and the start-up line: the endpoint, redacted. */
export function describeWebSearch(config: Pick<Config, 'webSearchProvider' | 'webSearchUrl'>): string | null {
  const kind = config.webSearchProvider
  if (kind === null) return null
  const base = config.webSearchUrl ?? DEFAULT_BASE_URL[kind]
  if (base === null) return kind
  const path = kind === 'brave' ? '/web/search' : '/search'
  const url = endpoint(base, path)
  return `${kind} ${redactUrl(`${url.origin}${url.pathname}`)}`
}

/** null when no provider is configured (then web_search tools are left out, as before). */
export function webSearchProviderFromConfig(config: Config, logger: Logger): WebSearchProvider | null {
  if (config.webSearchProvider === null) return null
  const provider = createWebSearchProvider({
    kind: config.webSearchProvider,
    url: config.webSearchUrl,
    key: config.webSearchKey,
    timeoutMs: config.webSearchTimeoutMs,
  })
  logger.debug('web search provider configured', { web_search: describeWebSearch(config) })
  return provider
}
