// The web search service (#14): the gateway runs web_search tool calls through a configured provider (SearXNG,
// Brave or Tavily). The engine sees only WebSearchProvider; everything about the providers stays in this folder.

export { normalizeDomain, urlAllowed } from './domains'
export { formatSearchResults } from './format'
export { createWebSearchProvider, describeWebSearch, webSearchProviderFromConfig, type WebSearchProviderSettings } from './provider'
export * from './types'
