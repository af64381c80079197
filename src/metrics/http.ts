// Per-request bookkeeping for app.ts: the request counter and latency histogram by matched route pattern, and the
// access log line (debug level, so quiet by default) with the request id.
import { StatusMap } from 'elysia'
import type { Logger } from '../log'
import { UNMATCHED_ROUTE, type GatewayMetrics } from './index'
import { pathOf } from '../http/request-url'

/** Elysia's per-request `set` (the answer's status and headers). */
export interface HookSet {
  status?: number | string
  headers: Record<string, unknown>
}

/** What the hooks read from Elysia's per-request context (the hooks pass these parts, not the context: app.ts). */
interface RequestContext {
  request: Request
  /** not on onRequest's context type */
  path?: string
  route?: string
  set: HookSet
  responseValue?: unknown
}

// Kept on the request's `set` object: Elysia passes the same one from onRequest to onAfterResponse. The request id
// too: a route answering with a Response of its own takes it out of set.headers (http/as-is.ts).
const STARTED = Symbol('agentgate.requestStarted')
const REQUEST_ID = Symbol('agentgate.requestId')

/**
 * The request id onRequest gave this request (requestObserver.started): for its log lines, the upstream call and the
 * answer's headers. Read from here, not from set.headers, which a route handing over a Response of its own empties.
 * '' when the app-wide hooks did not run (a route plugin mounted alone).
 */
export function requestIdOf(set: HookSet): string {
  return (set as { [REQUEST_ID]?: string })[REQUEST_ID] ?? ''
}

/**
 * `routeOf` finds the pattern of a request answered before routing (onRequest: 401, 413) in the app's route table
 * (http/routes.ts); routed requests carry their pattern.
 */
export function requestObserver(
  metrics: GatewayMetrics,
  logger: Logger,
  routeOf: (method: string, path: string, upgrade: boolean) => string | undefined = () => undefined,
) {
  return {
    /** onRequest: the clock starts before routing, body limits and parsing; `requestId` is the one its log lines carry. */
    started(set: HookSet, requestId: string) {
      const s = set as { [STARTED]?: number; [REQUEST_ID]?: string }
      s[STARTED] = performance.now()
      s[REQUEST_ID] = requestId
    },
    /** onAfterResponse (or an answer given in onRequest, which skips it): counts the request and logs it; returns its status and route. */
    answered(ctx: RequestContext, status = statusOf(ctx)): { status: number; route: string | undefined } {
      const started = (ctx.set as { [STARTED]?: number })[STARTED]
      const ms = started === undefined ? 0 : performance.now() - started
      const method = ctx.request.method
      let route = ctx.route
      let path = ctx.path
      if (!route) {
        path ??= pathOf(ctx.request.url)
        route = routeOf(method, path, ctx.request.headers.get('upgrade')?.toLowerCase() === 'websocket')
      }
      metrics.recordRequest(route, method, status, ms / 1000)
      if (logger.level === 'debug')
        logger.debug('request', {
          request_id: requestIdOf(ctx.set),
          method,
          route: route || UNMATCHED_ROUTE,
          path: path ?? pathOf(ctx.request.url),
          status,
          duration_ms: Math.round(ms * 100) / 100,
        })
      return { status, route }
    },
  }
}

function statusOf(ctx: RequestContext): number {
  // A handler's own Response (SSE, pass-through) carries its status; otherwise set.status (onError sets it too).
  if (ctx.responseValue instanceof Response) return ctx.responseValue.status
  const s = ctx.set.status
  const status = typeof s === 'number' ? s : s === undefined ? 200 : ((StatusMap as Record<string, number>)[s] ?? 200)
  // Bun answers a WebSocket upgrade with 101 after the route's 200.
  if (status === 200 && ctx.request.method === 'GET' && ctx.request.headers.get('upgrade')?.toLowerCase() === 'websocket') return 101
  return status
}
