// filters.allowed_domains of a web_search tool: which hosts a result may come from (a listed domain or any of its
// subdomains), how an entry is normalised, and the `site:` words that narrow a provider's query the same way.

/**
 * An allowed_domains entry as a bare lowercase host: `https://Docs.Example.com/path` → `docs.example.com`,
 * `*.example.com` → `example.com`, a trailing dot dropped, an internationalised name in its ASCII (punycode) form.
 * null when it is no host name at all (empty, spaces, an IP-less garbage string).
 */
export function normalizeDomain(entry: string): string | null {
  let s = entry.trim().toLowerCase()
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/^\*\./, '')
  // Only the host part: no userinfo, path, query, fragment or port.
  s = s
    .replace(/^[^@/?#]*@/, '')
    .replace(/[/?#].*$/, '')
    .replace(/:\d*$/, '')
    .replace(/\.$/, '')
  if (s === '' || /[\s*]/.test(s)) return null
  let host: string
  try {
    host = new URL(`http://${s}`).hostname
  } catch {
    return null
  }
  // A name the URL parser would change beyond case and punycode (a path sneaking in, an IPv6 literal) is refused.
  if (host === '' || host.startsWith('[') || host.includes('..')) return null
  return host.replace(/\.$/, '')
}

/** The normalised, de-duplicated allowed domains; entries that are no host name are dropped. */
export function normalizeDomains(entries: readonly string[]): string[] {
  return [...new Set(entries.map(normalizeDomain).filter((d): d is string => d !== null))]
}

/** Whether `url` (an http(s) URL) is on one of `domains` (normalised) or a subdomain of one. */
export function urlAllowed(url: string, domains: readonly string[]): boolean {
  let host: string
  try {
    const u = new URL(url)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false
    host = u.hostname.toLowerCase().replace(/\.$/, '')
  } catch {
    return false
  }
  return domains.some((d) => host === d || host.endsWith(`.${d}`))
}

/**
 * `query` narrowed to `domains` with the `site:` operator most engines understand: `q site:a.com` for one domain,
 * `q (site:a.com OR site:b.com)` for several. Engines that ignore it still get the plain words; the results are
 * filtered afterwards anyway.
 */
export function siteQuery(query: string, domains: readonly string[]): string {
  if (domains.length === 0) return query
  if (domains.length === 1) return `${query} site:${domains[0]}`
  return `${query} (${domains.map((d) => `site:${d}`).join(' OR ')})`
}
