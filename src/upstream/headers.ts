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

const NONE_LISTED: ReadonlySet<string> = new Set()

/** The header names a Connection header lists (RFC 9110 §7.6.1): hop-by-hop too. */
function connectionListed(listed: string | null): Set<string> {
  // the usual values list no header of their own (keep-alive is hop-by-hop anyway)
  if (!listed || listed === 'keep-alive' || listed === 'close') return NONE_LISTED as Set<string>
  return new Set(
    listed
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  )
}

/**
 * Headers for the upstream request: the client's minus hop-by-hop, host, length and auth, plus our key, and our
 * request id in place of the client's when one is given.
 */
export function toUpstreamHeaders(
  incoming: Headers | Record<string, string | undefined>,
  upstreamKey: string | null,
  requestId?: string,
): Headers {
  let out: Headers
  if (incoming instanceof Headers) {
    // One native copy, then the few names that must not go up deleted from it: appending each forwarded header to an
    // empty Headers from a forEach callback made a name and a value string per header and two calls across to native
    // code (a pass-through request's header filtering took about twice as long). keys() gives lowercase names.
    out = new Headers(incoming)
    const listed = connectionListed(incoming.get('connection'))
    let dropped: string[] | null = null
    for (const name of out.keys()) if (!forwardedUp(name, listed)) (dropped ??= []).push(name)
    // collected first: deleting while keys() walks the list would skip entries
    if (dropped) for (const name of dropped) out.delete(name)
  } else {
    out = new Headers()
    // our own headers (the engine's call): read as they are, without a Headers copy of them first
    let connection: string | null = null
    for (const name in incoming) if (name.toLowerCase() === 'connection') connection = incoming[name] ?? null
    const listed = connectionListed(connection)
    for (const name in incoming) {
      const value = incoming[name]
      if (typeof value === 'string' && forwardedUp(name.toLowerCase(), listed)) out.append(name, value)
    }
  }
  if (upstreamKey) out.set('authorization', `Bearer ${upstreamKey}`)
  if (requestId) out.set('x-request-id', requestId)
  return out
}

function forwardedUp(n: string, listed: Set<string>): boolean {
  return !(HOP_BY_HOP.has(n) || NOT_FORWARDED_UP.has(n) || listed.has(n) || n.startsWith('sec-websocket'))
}

/** Dropped on the way down besides hop-by-hop: what Bun recomputes for the body it actually sends. */
const RECOMPUTED_DOWN = new Set(['content-length', 'date', 'server'])

/**
 * An upstream response's headers made fit for the client, in place: minus hop-by-hop and those Bun recomputes.
 * In place, so the upstream's own Response can be handed to the client (Bun then pipes its body natively; a new
 * Response around it would read it through a JS stream). Returns `headers`.
 */
export function stripForClient(headers: Headers): Headers {
  const listed = connectionListed(headers.get('connection'))
  let dropped: string[] | null = null
  // keys(), not forEach: no value strings made; collected first, as deleting while it walks the list would skip entries
  for (const n of headers.keys()) if (HOP_BY_HOP.has(n) || RECOMPUTED_DOWN.has(n) || listed.has(n)) (dropped ??= []).push(n)
  if (dropped) for (const n of dropped) headers.delete(n)
  return headers
}
