// The pure parts of web search: normalising allowed_domains entries, matching a result's URL against them, the
// site: query, cleaning provider text, and the text the model receives.
import { describe, expect, test } from 'bun:test'
import { formatSearchResults, normalizeDomain, urlAllowed } from '../../src/websearch'
import { siteQuery } from '../../src/websearch/domains'
import { cleanText } from '../../src/websearch/format'

describe('normalizeDomain', () => {
  test.each([
    ['example.com', 'example.com'],
    ['  Example.COM ', 'example.com'],
    ['https://docs.example.com/path?q=1#x', 'docs.example.com'],
    ['http://user:pw@example.com:8080/', 'example.com'],
    ['*.example.com', 'example.com'],
    ['example.com.', 'example.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['localhost', 'localhost'],
  ])('%p → %p', (entry, want) => {
    expect(normalizeDomain(entry)).toBe(want)
  })

  test.each(['', '   ', 'not a domain', '*', 'https://', '[::1]', 'a..b'])('%p is no domain', (entry) => {
    expect(normalizeDomain(entry)).toBeNull()
  })
})

describe('urlAllowed', () => {
  const domains = ['example.com', 'xn--bcher-kva.de']
  test.each([
    ['https://example.com/', true],
    ['https://EXAMPLE.com./a', true],
    ['http://docs.example.com/a', true],
    ['https://a.b.example.com:8443/x', true],
    ['https://bücher.de/', true],
    ['https://notexample.com/', false],
    ['https://example.com.evil.test/', false],
    ['https://evil.test/example.com', false],
    ['https://evil.test/?u=https://example.com', false],
    ['ftp://example.com/', false],
    ['not a url', false],
  ])('%p → %p', (url, want) => {
    expect(urlAllowed(url, domains)).toBe(want)
  })
})

describe('siteQuery', () => {
  test('no domains: the query as it is', () => expect(siteQuery('q', [])).toBe('q'))
  test('one domain: one site: term', () => expect(siteQuery('q', ['a.com'])).toBe('q site:a.com'))
  test('several: site: terms joined with OR', () => expect(siteQuery('q', ['a.com', 'b.org'])).toBe('q (site:a.com OR site:b.org)'))
})

describe('cleanText', () => {
  test('removes tags, decodes named and numeric entities, folds whitespace', () => {
    expect(cleanText('<strong>A</strong>&nbsp;&amp;&#x41;&#66;\n\n  <em>c</em>', 100)).toBe('A &AB c')
  })
  test('leaves unknown entities and a lone < alone', () => {
    expect(cleanText('a &bogus; b < c', 100)).toBe('a &bogus; b < c')
  })
  test('cuts long text with an ellipsis', () => {
    expect(cleanText('abcdefghij', 5)).toBe('abcd…')
  })
  test('anything but a string is empty', () => {
    expect(cleanText(undefined, 10)).toBe('')
    expect(cleanText(42, 10)).toBe('')
  })
})

describe('formatSearchResults', () => {
  test('numbers each result with its title, URL and snippet, after the query', () => {
    expect(
      formatSearchResults('bun "runtime"', [
        { url: 'https://bun.sh/', title: 'Bun', snippet: 'A fast runtime.' },
        { url: 'https://example.com/', title: '', snippet: '' },
      ]),
    ).toBe(
      [
        'Search results for "bun \\"runtime\\"":',
        '',
        '1. Bun',
        '   URL: https://bun.sh/',
        '   A fast runtime.',
        '',
        '2. https://example.com/',
        '   URL: https://example.com/',
      ].join('\n'),
    )
  })

  test('no results', () => {
    expect(formatSearchResults('anything', [])).toBe('No results.')
  })
})
