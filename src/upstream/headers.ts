// Which headers cross the gateway. Pure functions, table-tested in test/upstream/headers.test.ts.

/** RFC 9110 §7.6.1 connection-specific headers, plus the proxy ones; never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/**
 * Also dropped on the way up: the upstream gets its own host, length and credentials; `expect:
 * 100-continue` was answered by us already (RFC 9110 §10.1.1: not forwarded once the body is in hand).
 */
const NOT_FORWARDED_UP = new Set([
  'host',
  'content-length',
  'authorization',
  'api-key',
  'x-api-key',
  'cookie',
  'origin',
  'referer',
  'expect',
])

function connectionListed(headers: Headers): Set<string> {
  const listed = headers.get('connection')
  return new Set(
    listed
      ? listed
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean)
      : [],
  )
}

/** Headers for the upstream request: the client's minus hop-by-hop, host, length and auth, plus our key. */
export function toUpstreamHeaders(incoming: Headers | Record<string, string | undefined>, upstreamKey: string | null): Headers {
  const src =
    incoming instanceof Headers
      ? incoming
      : new Headers(Object.entries(incoming).filter((e): e is [string, string] => typeof e[1] === 'string'))
  const listed = connectionListed(src)
  const out = new Headers()
  src.forEach((value, name) => {
    const n = name.toLowerCase()
    if (HOP_BY_HOP.has(n) || NOT_FORWARDED_UP.has(n) || listed.has(n) || n.startsWith('sec-websocket')) return
    out.append(n, value)
  })
  if (upstreamKey) out.set('authorization', `Bearer ${upstreamKey}`)
  return out
}

/** Headers for the client from an upstream response: minus hop-by-hop and those Bun recomputes. */
export function toClientHeaders(upstream: Headers): Headers {
  const listed = connectionListed(upstream)
  const out = new Headers()
  upstream.forEach((value, name) => {
    const n = name.toLowerCase()
    if (HOP_BY_HOP.has(n) || listed.has(n) || n === 'content-length' || n === 'date' || n === 'server') return
    // append: forEach yields each set-cookie separately, and set() would keep only the last one.
    out.append(n, value)
  })
  return out
}
