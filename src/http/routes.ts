// The routes that answer without a credential (declared here once), and which route pattern a request is for when
// it is answered before Elysia routes it (onRequest's 401, 413 and 503, the 405's Allow): the app's own route table
// in Elysia's router (memoirist), so a metric label or an open-route check never disagrees with routing.
import { Memoirist } from 'memoirist'

/** Routes that stay open with auth on: liveness/readiness and the API reference. Everything else needs a credential. */
export const OPEN_ROUTES: readonly string[] = ['/health', '/ready', '/docs', '/docs/json', '/docs/assets/:file']
/** Open too with --metrics-public, so a Prometheus scraper needs no key. */
export const METRICS_ROUTE = '/metrics'

/** A route as the app lists it (Elysia's app.routes): method (WS for a WebSocket, ALL for any) and pattern. */
export interface RouteEntry {
  method: string
  path: string
}

export interface RouteTable {
  /** The pattern `method path` is routed to (a GET with `upgrade: websocket` finds WS routes), or undefined. */
  routeOf(method: string, path: string, upgrade?: boolean): string | undefined
  /** The methods some route serves `path` with (WS as GET), for a 405's Allow. */
  methodsFor(path: string): string[]
  /** Whether `path` is an open route, whatever the method (POST /health is a 405 for anyone, not a 401). */
  isOpen(path: string): boolean
}

/**
 * The table of `routes()`, read on first use — once every route is registered (the app's plugins add theirs when
 * mounted). `openRoutes` are the patterns isOpen accepts.
 */
export function routeTable(routes: () => readonly RouteEntry[], openRoutes: readonly string[]): RouteTable {
  let built: { router: Memoirist<string>; methods: string[] } | null = null
  const open = new Set(openRoutes)
  const table = () => {
    if (built) return built
    const router = new Memoirist<string>()
    const methods = new Set<string>()
    for (const r of routes()) {
      methods.add(r.method)
      router.add(r.method, r.path, r.path)
    }
    return (built = { router, methods: [...methods] })
  }
  // Elysia routes /x/ as /x (strictPath off) and HEAD as GET.
  const loose = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path)
  const find = (method: string, path: string) => table().router.find(method, loose(path))?.store
  return {
    routeOf(method, path, upgrade = false) {
      const m = method === 'HEAD' ? 'GET' : method
      return (
        (upgrade && m === 'GET' ? find('WS', path) : undefined) ??
        find(m, path) ??
        (m === 'GET' ? find('WS', path) : undefined) ??
        find('ALL', path)
      )
    },
    methodsFor(path) {
      const out = new Set<string>()
      for (const m of table().methods) if (m !== 'ALL' && m !== 'WS' && find(m, path) !== undefined) out.add(m)
      return [...out]
    },
    isOpen(path) {
      for (const m of table().methods) {
        const route = find(m, path)
        if (route !== undefined && open.has(route)) return true
      }
      return false
    },
  }
}
