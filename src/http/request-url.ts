// The path and query of a request as Bun hands it over: `request.url` is absolute (`http://HOST/path?q`) when
// the request had a valid Host, and just the target (`/path?q`) when it had none (HTTP/1.0), an empty one or
// an invalid one — which `new URL()` rejects. Found by the same rule as routing (patches/elysia*.patch), with
// no allocation but the returned string, so routing, auth, metrics and handlers agree on one path.

/** Where the path starts in a request URL: 0 for a bare target, else the first '/' after `scheme://`. */
export function pathStart(url: string): number {
  return url.charCodeAt(0) === 47 ? 0 : url.indexOf('/', url.indexOf(':') + 3)
}

/** The request's path, without the query: `/v1/models` for both `http://x/v1/models?a=1` and `/v1/models?a=1`. */
export function pathOf(url: string): string {
  const start = pathStart(url)
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}

/** The request's query including its `?` (as URL.search), or '' when it has none. */
export function searchOf(url: string): string {
  const query = url.indexOf('?', pathStart(url))
  if (query === -1) return ''
  const hash = url.indexOf('#', query)
  const search = hash === -1 ? url.slice(query) : url.slice(query, hash)
  return search === '?' ? '' : search
}
