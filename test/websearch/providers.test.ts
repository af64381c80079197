// The three providers against loopback fakes of their wire shapes: what each request carries (query, format, count,
// key, domains) and what comes back (cleaned, de-duplicated, limited, and only from the allowed domains).
import { afterEach, describe, expect, test } from 'bun:test'
import { createWebSearchProvider, type WebSearchProvider, type WebSearchProviderKind } from '../../src/websearch'
import { type FakeResult, type FakeSearch, startFakeSearch } from '../support/fake-searxng'

const fakes: FakeSearch[] = []
afterEach(() => {
  for (const f of fakes.splice(0)) f.close()
})

/** A fake of `kind` and a provider pointed at it (Brave's base URL carries its /res/v1 prefix). */
function setup(kind: WebSearchProviderKind, results: FakeResult[] = [], key: string | null = kind === 'searxng' ? null : 'test-key') {
  const fake = startFakeSearch(kind, { results })
  fakes.push(fake)
  const provider: WebSearchProvider = createWebSearchProvider({
    kind,
    url: kind === 'brave' ? `${fake.url}/res/v1` : fake.url,
    key,
    timeoutMs: 5_000,
  })
  return { fake, provider }
}

const many = (n: number, host = 'example.com'): FakeResult[] =>
  Array.from({ length: n }, (_, i) => ({ url: `https://${host}/page-${i + 1}`, title: `Page ${i + 1}`, content: `About page ${i + 1}` }))

describe('SearXNG', () => {
  test('searches with GET /search?q=…&format=json and returns url, title and snippet', async () => {
    const { fake, provider } = setup('searxng', [
      { url: 'https://bun.sh/docs', title: 'Bun docs', content: 'Bun is a fast JavaScript runtime.' },
      { url: 'https://github.com/oven-sh/bun', title: 'oven-sh/bun', content: 'Incredibly fast JavaScript runtime' },
    ])
    expect(provider.kind).toBe('searxng')
    const sources = await provider.search('bun runtime')
    expect(sources).toEqual([
      { url: 'https://bun.sh/docs', title: 'Bun docs', snippet: 'Bun is a fast JavaScript runtime.' },
      { url: 'https://github.com/oven-sh/bun', title: 'oven-sh/bun', snippet: 'Incredibly fast JavaScript runtime' },
    ])
    expect(fake.searches).toHaveLength(1)
    expect(fake.searches[0]).toMatchObject({ method: 'GET', path: '/search', query: 'bun runtime' })
    expect(fake.searches[0].params.format).toBe('json')
    // no key configured: nothing that looks like one is sent
    expect(fake.searches[0].headers.authorization).toBeUndefined()
  })

  test('returns 5 results by default and at most `limit`', async () => {
    const { provider } = setup('searxng', many(20))
    expect(await provider.search('pages')).toHaveLength(5)
    expect((await provider.search('pages', { limit: 3 })).map((s) => s.url)).toEqual([
      'https://example.com/page-1',
      'https://example.com/page-2',
      'https://example.com/page-3',
    ])
    expect(await provider.search('pages', { limit: 50 })).toHaveLength(20)
  })

  test('a base URL that is already the endpoint (…/search) is not doubled', async () => {
    const fake = startFakeSearch('searxng', { results: many(1) })
    fakes.push(fake)
    const direct = createWebSearchProvider({ kind: 'searxng', url: `${fake.url}/search`, key: null, timeoutMs: 5_000 })
    expect(await direct.search('x')).toHaveLength(1)
    expect(fake.searches[0].path).toBe('/search')
  })

  test('a configured key is sent as a bearer token', async () => {
    const { fake, provider } = setup('searxng', many(1), 'proxy-token')
    await provider.search('q')
    expect(fake.searches[0].headers.authorization).toBe('Bearer proxy-token')
  })

  test('allowed_domains narrows the query with site: and filters the results, subdomains included', async () => {
    const { fake, provider } = setup('searxng', [
      { url: 'https://docs.python.org/3/', title: 'Python docs' },
      { url: 'https://evil.example/python.org', title: 'Look-alike path' },
      { url: 'https://notpython.org/', title: 'Look-alike suffix' },
      { url: 'https://python.org/about', title: 'Python' },
      { url: 'https://bun.sh/', title: 'Bun' },
      { url: 'https://www.bun.sh/blog', title: 'Bun blog' },
    ])
    const sources = await provider.search('release notes', { allowedDomains: ['python.org', 'https://Bun.sh/'] })
    expect(sources.map((s) => s.url)).toEqual([
      'https://docs.python.org/3/',
      'https://python.org/about',
      'https://bun.sh/',
      'https://www.bun.sh/blog',
    ])
    expect(fake.searches[0].query).toBe('release notes (site:python.org OR site:bun.sh)')
  })

  test('one allowed domain is a single site: term', async () => {
    const { fake, provider } = setup('searxng', many(2))
    await provider.search('pages', { allowedDomains: ['example.com'] })
    expect(fake.searches[0].query).toBe('pages site:example.com')
  })

  test('titles and snippets are plain text: tags stripped, entities decoded, whitespace folded', async () => {
    const { provider } = setup('searxng', [
      { url: 'https://a.example/', title: '  Fish &amp; Chips\n', content: 'The <b>best</b>\t&quot;chips&quot; &#8212; &lt;really&gt;' },
    ])
    expect(await provider.search('chips')).toEqual([
      { url: 'https://a.example/', title: 'Fish & Chips', snippet: 'The best "chips" — <really>' },
    ])
  })

  test('results without an http(s) URL are dropped, and a URL seen twice is listed once', async () => {
    const { provider } = setup('searxng', [
      { url: 'javascript:alert(1)', title: 'x' },
      { url: 'https://a.example/', title: 'A' },
      { url: 'https://a.example/', title: 'A again' },
      { url: 'ftp://files.example/', title: 'ftp' },
      { url: 'http://b.example/', title: 'B' },
    ])
    expect((await provider.search('q')).map((s) => s.title)).toEqual(['A', 'B'])
  })

  test('a query is trimmed and its whitespace folded; an empty one is refused without a request', async () => {
    const { fake, provider } = setup('searxng', many(1))
    await provider.search('  two\n words ')
    expect(fake.searches[0].query).toBe('two words')
    await expect(provider.search('   ')).rejects.toMatchObject({ name: 'WebSearchError', failure: 'invalid_request' })
    expect(fake.searches).toHaveLength(1)
  })
})

describe('Brave', () => {
  test('searches with GET …/web/search, the key in X-Subscription-Token, count = limit', async () => {
    const { fake, provider } = setup('brave', [
      {
        url: 'https://brave.com/search/api/',
        title: 'Brave <strong>Search</strong> API',
        content: 'The <strong>Brave</strong> Search API',
      },
    ])
    expect(provider.kind).toBe('brave')
    const sources = await provider.search('brave api', { limit: 3 })
    expect(sources).toEqual([{ url: 'https://brave.com/search/api/', title: 'Brave Search API', snippet: 'The Brave Search API' }])
    expect(fake.searches[0]).toMatchObject({ method: 'GET', path: '/res/v1/web/search', query: 'brave api' })
    expect(fake.searches[0].params.count).toBe('3')
    expect(fake.searches[0].headers['x-subscription-token']).toBe('test-key')
    expect(fake.searches[0].headers.accept).toBe('application/json')
  })

  test('no `web` in the answer is no results', async () => {
    const { provider } = setup('brave', [])
    expect(await provider.search('nothing at all')).toEqual([])
  })

  test('allowed_domains: site: in the query, a full page asked for, off-list results dropped', async () => {
    const { fake, provider } = setup('brave', [...many(3, 'other.example'), ...many(3, 'docs.example.com')])
    const sources = await provider.search('docs', { allowedDomains: ['example.com'], limit: 2 })
    expect(sources.map((s) => s.url)).toEqual(['https://docs.example.com/page-1', 'https://docs.example.com/page-2'])
    expect(fake.searches[0].query).toBe('docs site:example.com')
    expect(fake.searches[0].params.count).toBe('20')
  })
})

describe('Tavily', () => {
  test('searches with POST …/search, a bearer key and a JSON body asking for `limit` results', async () => {
    const { fake, provider } = setup('tavily', many(8))
    expect(provider.kind).toBe('tavily')
    const sources = await provider.search('tavily', { limit: 4 })
    expect(sources).toHaveLength(4)
    expect(sources[0]).toEqual({ url: 'https://example.com/page-1', title: 'Page 1', snippet: 'About page 1' })
    const got = fake.searches[0]
    expect(got).toMatchObject({ method: 'POST', path: '/search', query: 'tavily' })
    expect(got.headers.authorization).toBe('Bearer test-key')
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.body).toMatchObject({ query: 'tavily', max_results: 4, search_depth: 'basic', include_raw_content: false })
    expect(got.body.include_domains).toBeUndefined()
    // the key travels in the header only
    expect(JSON.stringify(got.body)).not.toContain('test-key')
  })

  test('allowed_domains go to include_domains (normalised), not into the query; results are still filtered', async () => {
    const { fake, provider } = setup('tavily', [{ url: 'https://elsewhere.example/', title: 'Off list' }, ...many(2, 'en.wikipedia.org')])
    const sources = await provider.search('bun', { allowedDomains: ['https://WIKIPEDIA.org/wiki', '*.wikipedia.org'] })
    expect(sources.map((s) => s.url)).toEqual(['https://en.wikipedia.org/page-1', 'https://en.wikipedia.org/page-2'])
    expect(fake.searches[0].body.include_domains).toEqual(['wikipedia.org'])
    expect(fake.searches[0].body.query).toBe('bun')
  })
})
