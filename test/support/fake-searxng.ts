// Fake search providers on loopback: a SearXNG instance (`GET /search?q=…&format=json`), and small fakes of the Brave
// (`GET /res/v1/web/search`, X-Subscription-Token) and Tavily (`POST /search`, bearer key) wire shapes. Tests script
// the results (or a fault: a status, raw bytes, an answer that never comes, a body that never ends) and read back
// every search the fake got.

export interface FakeResult {
  url: string
  title: string
  /** the snippet: SearXNG's `content`, Brave's `description`, Tavily's `content` */
  content?: string
}

export type SearchFault =
  /** answer this status with this body (default: a short text body) */
  | { fault: 'status'; status: number; body?: string; contentType?: string; headers?: Record<string, string> }
  /** answer exactly these bytes */
  | { fault: 'raw'; body: string; contentType: string; status?: number }
  /** never answer (the response headers never come) */
  | { fault: 'hang' }
  /** answer 200 and start the JSON body, then go silent */
  | { fault: 'stall' }

export type SearchReply = FakeResult[] | SearchFault | ((search: RecordedSearch) => FakeResult[] | SearchFault)

export interface RecordedSearch {
  method: string
  path: string
  /** the query string's parameters */
  params: Record<string, string>
  /** the search words: `q` (SearXNG, Brave) or the body's `query` (Tavily) */
  query: string
  headers: Record<string, string>
  /** the parsed JSON body of a POST, else null */
  body: any
}

export interface FakeSearch {
  /** base URL to configure: `http://127.0.0.1:PORT` (Brave's base adds /res/v1) */
  url: string
  port: number
  /** every search received, in order */
  searches: RecordedSearch[]
  /** the answer to every search from now on (after the queued ones) */
  reply(r: SearchReply): void
  /** answers for the next searches, one each, before the default */
  queue(...r: SearchReply[]): void
  close(): void
}

export type FakeWire = 'searxng' | 'brave' | 'tavily'

export interface FakeSearchOptions {
  /** the default answer (default: no results) */
  results?: SearchReply
  /** brave/tavily: the only key accepted (default 'test-key'); a wrong or missing one gets their 401 */
  key?: string
}

const json = (body: unknown, status = 200) => Response.json(body, { status })

/** The provider's answer for these results, in its wire shape; `limit` is what the request asked for, if anything. */
function wireAnswer(wire: FakeWire, query: string, results: FakeResult[], limit: number | null): unknown {
  const shown = limit === null ? results : results.slice(0, limit)
  switch (wire) {
    case 'searxng':
      return {
        query,
        number_of_results: shown.length,
        results: shown.map((r, i) => ({
          url: r.url,
          title: r.title,
          content: r.content ?? '',
          engine: 'fake',
          engines: ['fake'],
          positions: [i + 1],
          score: 1,
          category: 'general',
        })),
        answers: [],
        corrections: [],
        infoboxes: [],
        suggestions: [],
        unresponsive_engines: [],
      }
    case 'brave':
      return {
        type: 'search',
        query: { original: query, more_results_available: false },
        // Brave leaves `web` out when nothing was found.
        ...(shown.length
          ? {
              web: {
                type: 'search',
                results: shown.map((r) => ({ type: 'search_result', title: r.title, url: r.url, description: r.content ?? '' })),
              },
            }
          : {}),
      }
    case 'tavily':
      return {
        query,
        answer: null,
        images: [],
        results: shown.map((r, i) => ({ title: r.title, url: r.url, content: r.content ?? '', score: 1 - i / 100, raw_content: null })),
        response_time: 0.01,
      }
  }
}

/** Starts a fake of `wire` on 127.0.0.1, port 0. */
export function startFakeSearch(wire: FakeWire, opts: FakeSearchOptions = {}): FakeSearch {
  const key = opts.key ?? 'test-key'
  const searches: RecordedSearch[] = []
  const queued: SearchReply[] = []
  let fallback: SearchReply = opts.results ?? []
  /** answers held open by 'hang' and 'stall', released on close */
  const held = new Set<() => void>()

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const params = Object.fromEntries(url.searchParams)
      const headers = Object.fromEntries(req.headers)
      const body: any = req.method === 'POST' ? await req.json().catch(() => null) : null
      const path = url.pathname
      if (wire === 'searxng') {
        if (req.method !== 'GET' || path !== '/search') return new Response('Not Found', { status: 404 })
        // A stock instance serves only HTML: json must be enabled under search.formats.
        if (params.format !== 'json') return new Response('<html>results</html>', { headers: { 'content-type': 'text/html' } })
      } else if (wire === 'brave') {
        if (req.method !== 'GET' || path !== '/res/v1/web/search') return json({ type: 'ErrorResponse', error: { status: 404 } }, 404)
        if (headers['x-subscription-token'] !== key)
          return json({ type: 'ErrorResponse', error: { status: 401, code: 'SUBSCRIPTION_TOKEN_INVALID', detail: 'invalid token' } }, 401)
      } else {
        if (req.method !== 'POST' || path !== '/search') return json({ detail: 'Not Found' }, 404)
        if (headers.authorization !== `Bearer ${key}`) return json({ detail: { error: 'Unauthorized: missing or invalid API key.' } }, 401)
      }
      const query = (wire === 'tavily' ? body?.query : params.q) ?? ''
      const search: RecordedSearch = { method: req.method, path, params, query, headers, body }
      searches.push(search)

      const next = queued.length ? queued.shift()! : fallback
      const reply = typeof next === 'function' ? next(search) : next
      if (Array.isArray(reply)) {
        const limit = wire === 'brave' ? Number(params.count ?? 20) : wire === 'tavily' ? Number(body?.max_results ?? 5) : null
        return json(wireAnswer(wire, query, reply, limit))
      }
      switch (reply.fault) {
        case 'status':
          return new Response(reply.body ?? `fake ${wire} error`, {
            status: reply.status,
            headers: { 'content-type': reply.contentType ?? 'text/plain', ...reply.headers },
          })
        case 'raw':
          return new Response(reply.body, { status: reply.status ?? 200, headers: { 'content-type': reply.contentType } })
        case 'hang':
          return new Promise<Response>((resolve) => held.add(() => resolve(new Response(null, { status: 503 }))))
        case 'stall':
          return new Response(
            new ReadableStream({
              start(controller) {
                controller.enqueue(new TextEncoder().encode('{"results":['))
                held.add(() => {
                  try {
                    controller.close()
                  } catch {}
                })
              },
            }),
            { headers: { 'content-type': 'application/json' } },
          )
      }
    },
  })
  const base = `http://127.0.0.1:${server.port}`
  return {
    url: base,
    port: server.port!,
    searches,
    reply(r) {
      fallback = r
    },
    queue(...r) {
      queued.push(...r)
    },
    close() {
      for (const release of held) release()
      held.clear()
      server.stop(true)
    },
  }
}

/** A fake SearXNG instance (JSON format enabled). */
export function startFakeSearxng(opts: FakeSearchOptions = {}): FakeSearch {
  return startFakeSearch('searxng', opts)
}

/** A URL on loopback where nothing listens (a port that was just free). */
export function refusedUrl(): string {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = server.port
  server.stop(true)
  return `http://127.0.0.1:${port}`
}
