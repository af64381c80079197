// Search results as text: the cleaning every provider's title and snippet go through (providers send HTML
// highlights and entities), and the text the model receives as the output of its search call.

import type { WebSearchSource } from './types'

/** Longest title and snippet kept, in characters: a result is a pointer, not the page. */
export const MAX_TITLE_CHARS = 300
export const MAX_SNIPPET_CHARS = 1_000

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" }

/** Decodes the handful of entities search snippets carry (named ones above, and numeric ones). */
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6}|#39);/gi, (whole, name: string) => {
    const lower = name.toLowerCase()
    if (lower in ENTITIES) return ENTITIES[lower]
    const code = lower.startsWith('#x') ? Number.parseInt(lower.slice(2), 16) : lower.startsWith('#') ? Number(lower.slice(1)) : NaN
    return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/** Provider text as plain text: tags (Brave's <strong> highlights) removed, entities decoded, whitespace folded, cut. */
export function cleanText(raw: unknown, max: number): string {
  if (typeof raw !== 'string') return ''
  const text = decodeEntities(raw.replace(/<[^>]{0,200}>/g, ''))
    .replace(/\s+/g, ' ')
    .trim()
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`
}

/**
 * The text the model receives as the search function's output: the query, then each result numbered with its title,
 * URL and snippet; "No results." when there are none.
 */
export function formatSearchResults(query: string, sources: readonly WebSearchSource[]): string {
  if (sources.length === 0) return 'No results.'
  const blocks = sources.map((s, i) => {
    const lines = [`${i + 1}. ${s.title || s.url}`, `   URL: ${s.url}`]
    if (s.snippet) lines.push(`   ${s.snippet}`)
    return lines.join('\n')
  })
  return `Search results for ${JSON.stringify(query)}:\n\n${blocks.join('\n\n')}`
}
