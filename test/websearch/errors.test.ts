// Every way a search can fail becomes one WebSearchError whose message is safe to show a client and a model: the
// provider and its URL (no query string, no credentials), why in plain words, never the key and never the
// runtime's or the provider's own text.
import { afterEach, describe, expect, test } from 'bun:test'
import { createWebSearchProvider, WebSearchError, type WebSearchProviderKind } from '../../src/websearch'
import { MAX_ANSWER_BYTES } from '../../src/websearch/http'
import { type FakeSearch, refusedUrl, startFakeSearch } from '../support/fake-searxng'

const KEY = 'sk-secret-search-key-123'
const fakes: FakeSearch[] = []
afterEach(() => {
  for (const f of fakes.splice(0)) f.close()
})

function fake(kind: WebSearchProviderKind = 'searxng'): FakeSearch {
  const f = startFakeSearch(kind, { key: KEY, results: [{ url: 'https://a.example/', title: 'A' }] })
  fakes.push(f)
  return f
}

const provider = (kind: WebSearchProviderKind, url: string, timeoutMs = 5_000, key: string | null = KEY) =>
  createWebSearchProvider({ kind, url, key, timeoutMs })

/** The WebSearchError a search ends with; checks it never carries the key, a stack or the query words. */
async function failure(p: Promise<unknown>): Promise<WebSearchError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(WebSearchError)
    const err = e as WebSearchError
    expect(err.message).not.toContain(KEY)
    expect(err.message).not.toContain('secret words')
    expect(err.message).not.toContain('\n')
    expect(err.message).not.toMatch(/verbose|fetch\(\)|\.ts:\d+/)
    return err
  }
  throw new Error('expected the search to fail')
}

describe('the provider cannot be reached or does not answer', () => {
  test('connection refused', async () => {
    const base = refusedUrl()
    const e = await failure(provider('searxng', base).search('secret words'))
    expect(e.failure).toBe('unreachable')
    expect(e.message).toBe(`SearXNG search failed (GET ${base}/search): the search provider refused the connection (ECONNREFUSED)`)
  })

  test('no answer within the timeout', async () => {
    const f = fake()
    f.reply({ fault: 'hang' })
    const e = await failure(provider('searxng', f.url, 200).search('secret words'))
    expect(e.failure).toBe('timeout')
    expect(e.message).toBe(`SearXNG search failed (GET ${f.url}/search): no answer within 200 ms`)
  })

  test('a body that stops half-way is a timeout too (the bound covers the whole answer)', async () => {
    const f = fake('tavily')
    f.reply({ fault: 'stall' })
    const e = await failure(provider('tavily', f.url, 200).search('secret words'))
    expect(e.failure).toBe('timeout')
    expect(e.message).toBe(`Tavily search failed (POST ${f.url}/search): the answer did not arrive within 200 ms`)
  })

  test('the per-search timeoutMs overrides the configured one', async () => {
    const f = fake()
    f.reply({ fault: 'hang' })
    const e = await failure(provider('searxng', f.url, 60_000).search('secret words', { timeoutMs: 100 }))
    expect(e.message).toEndWith('no answer within 100 ms')
  })

  test("the caller's signal cancels a running search", async () => {
    const f = fake()
    f.reply({ fault: 'hang' })
    const controller = new AbortController()
    const running = provider('searxng', f.url, 60_000).search('secret words', { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    const e = await failure(running)
    expect(e.failure).toBe('cancelled')
    expect(e.message).toBe(`SearXNG search failed (GET ${f.url}/search): the search was cancelled`)
  })

  test('an already aborted signal sends nothing', async () => {
    const f = fake()
    const e = await failure(provider('searxng', f.url).search('secret words', { signal: AbortSignal.abort() }))
    expect(e.failure).toBe('cancelled')
    expect(f.searches).toHaveLength(0)
  })
})

describe('the provider answers, but not with results', () => {
  test('a 5xx names the status, not the body', async () => {
    const f = fake()
    f.reply({ fault: 'status', status: 502, body: `upstream engine crashed; key=${KEY}` })
    const e = await failure(provider('searxng', f.url).search('secret words'))
    expect(e.failure).toBe('http_status')
    expect(e.message).toBe(`SearXNG search failed (GET ${f.url}/search): the search provider answered HTTP 502 Bad Gateway`)
  })

  test('a wrong key: Brave 401 says to check AGENTGATE_WEB_SEARCH_KEY, without the key', async () => {
    const f = fake('brave')
    const e = await failure(provider('brave', `${f.url}/res/v1`, 5_000, 'wrong-key').search('secret words'))
    expect(e.failure).toBe('rejected')
    expect(e.message).toBe(
      `Brave search failed (GET ${f.url}/res/v1/web/search): the search provider rejected the request (HTTP 401 Unauthorized); check the key in AGENTGATE_WEB_SEARCH_KEY`,
    )
    expect(e.message).not.toContain('wrong-key')
  })

  test('a wrong key: Tavily 401 the same way', async () => {
    const f = fake('tavily')
    const e = await failure(provider('tavily', f.url, 5_000, 'wrong-key').search('secret words'))
    expect(e.failure).toBe('rejected')
    expect(e.message).toContain('rejected the request (HTTP 401 Unauthorized); check the key in AGENTGATE_WEB_SEARCH_KEY')
  })

  test("SearXNG's 403 explains that format=json must be enabled", async () => {
    const f = fake()
    f.reply({ fault: 'status', status: 403, body: 'Forbidden' })
    const e = await failure(provider('searxng', f.url).search('secret words'))
    expect(e.message).toBe(
      `SearXNG search failed (GET ${f.url}/search): the SearXNG instance refused format=json; enable json under search.formats in its settings.yml (HTTP 403 Forbidden)`,
    )
  })

  test('429 says the provider is rate limiting', async () => {
    const f = fake('tavily')
    f.reply({ fault: 'status', status: 429, body: '{"detail":"slow down"}', contentType: 'application/json' })
    const e = await failure(provider('tavily', f.url).search('secret words'))
    expect(e.message).toEndWith('the search provider is rate limiting the gateway (HTTP 429 Too Many Requests)')
  })

  test('a redirect is reported, not followed: the key does not travel to the other host', async () => {
    const elsewhere = fake('brave')
    const f = fake('brave')
    f.reply({ fault: 'status', status: 302, headers: { location: `${elsewhere.url}/res/v1/web/search?q=x` } })
    const e = await failure(provider('brave', `${f.url}/res/v1`).search('secret words'))
    expect(e.message).toContain('answered with a redirect (HTTP 302 Found); point --web-search-url at the address it redirects to')
    expect(elsewhere.searches).toHaveLength(0)
  })

  test('an HTML page instead of JSON', async () => {
    const f = fake()
    f.reply({ fault: 'raw', body: '<!doctype html><title>SearXNG</title>', contentType: 'text/html; charset=utf-8' })
    const e = await failure(provider('searxng', f.url).search('secret words'))
    expect(e.failure).toBe('bad_response')
    expect(e.message).toBe(
      `SearXNG search failed (GET ${f.url}/search): the search provider answered with something that is not JSON (text/html)`,
    )
  })

  test('JSON without a results list', async () => {
    const f = fake()
    f.reply({ fault: 'raw', body: '{"error":"something else"}', contentType: 'application/json' })
    const e = await failure(provider('searxng', f.url).search('secret words'))
    expect(e.failure).toBe('bad_response')
    expect(e.message).toBe(`SearXNG search failed (GET ${f.url}/search): the search provider answered JSON without a results list`)
  })

  test('an answer larger than the cap is refused', async () => {
    const f = fake()
    f.reply({ fault: 'raw', body: `{"results":[],"pad":"${'x'.repeat(MAX_ANSWER_BYTES)}"}`, contentType: 'application/json' })
    const e = await failure(provider('searxng', f.url).search('secret words'))
    expect(e.message).toEndWith('the search provider sent an answer larger than 4 MiB')
  })
})

describe('what the message shows of the URL', () => {
  test('credentials in the configured URL are redacted, and the query string is never shown', async () => {
    const base = refusedUrl().replace('http://', 'http://user:pa55word@')
    const e = await failure(provider('searxng', `${base}/?token=abc123`).search('secret words'))
    expect(e.message).toStartWith(`SearXNG search failed (GET ${base.replace('user:pa55word@', '')}/search): `)
    expect(e.message).not.toContain('pa55word')
    expect(e.message).not.toContain('abc123')
  })
})

describe('bad search input', () => {
  test('an allowed_domains entry that is no domain is refused before any request', async () => {
    const f = fake()
    const e = await failure(provider('searxng', f.url).search('q', { allowedDomains: ['example.com', 'not a domain'] }))
    expect(e.failure).toBe('invalid_request')
    expect(e.message).toBe('filters.allowed_domains: "not a domain" is not a domain name (expected e.g. "example.com")')
    expect(f.searches).toHaveLength(0)
  })

  test('a query longer than 400 characters is refused', async () => {
    const f = fake()
    const e = await failure(provider('searxng', f.url).search('x'.repeat(401)))
    expect(e.failure).toBe('invalid_request')
    expect(f.searches).toHaveLength(0)
  })
})
