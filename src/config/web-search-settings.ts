// The web search settings: which provider runs the web_search tool the gateway executes itself (#14), where it is
// and how long one search may take. The key is not a setting here: it comes only from AGENTGATE_WEB_SEARCH_KEY
// (see parse.ts), so it never shows in `ps` or a config file. Their order is the order of --help and the README table.

import type { Setting } from './types'

export const WEB_SEARCH_SETTINGS: readonly Setting[] = [
  {
    key: 'webSearchProvider',
    flag: '--web-search-provider',
    env: 'AGENTGATE_WEB_SEARCH_PROVIDER',
    file: 'web_search_provider',
    kind: 'enum',
    values: ['searxng', 'brave', 'tavily'],
    help: 'runs web_search tools in the gateway (searxng is assumed when only --web-search-url is set; brave and tavily read their key from AGENTGATE_WEB_SEARCH_KEY); unset: web_search tools are left out',
    def: null,
  },
  {
    key: 'webSearchUrl',
    flag: '--web-search-url',
    env: 'AGENTGATE_WEB_SEARCH_URL',
    file: 'web_search_url',
    kind: 'url',
    help: "base URL of the search provider: a SearXNG instance (required for searxng); for brave and tavily, replaces their public API's",
    def: null,
  },
  {
    key: 'webSearchTimeoutMs',
    flag: '--web-search-timeout-ms',
    env: 'AGENTGATE_WEB_SEARCH_TIMEOUT_MS',
    file: 'web_search_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'how long one web search may take, answer included',
    def: 15_000,
  },
]
