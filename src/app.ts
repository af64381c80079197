// createApp(deps): the whole HTTP/WebSocket surface as one Elysia app, built from injected
// dependencies so tests run a real server on port 0 with a fake upstream and a temp database.

import { Elysia } from 'elysia'
import type { Config } from './config'
import { ApiError, toErrorBody } from './errors'
import type { IdSource } from './ids'
import type { Logger } from './log'
import type { Store } from './store/types'
import type { UpstreamClient } from './upstream/client'
import { healthRoutes } from './http/health'
import { passthroughRoutes } from './http/passthrough'
import { docsRoutes } from './http/docs'
import { modelsRoutes } from './http/models'
import { responsesRoutes } from './http/responses'

export interface AppDeps {
  config: Config
  upstream: UpstreamClient
  store: Store
  /** unix ms */
  clock: () => number
  ids: IdSource
  logger: Logger
  version: string
}

export function createApp(deps: AppDeps) {
  const { config, logger } = deps
  const app = new Elysia({
    // Bun rejects larger bodies itself (413, empty body); Content-Length is checked first below so that
    // the common case gets the JSON error shape.
    serve: { maxRequestBodySize: config.maxBodyBytes, idleTimeout: 255 },
  })
    .onRequest(({ request, set }) => {
      const requestId = request.headers.get('x-request-id') || deps.ids('req')
      set.headers['x-request-id'] = requestId
      const len = Number(request.headers.get('content-length') ?? 0)
      if (len > config.maxBodyBytes) {
        set.status = 413
        return toErrorBody(`Request body of ${len} bytes is larger than the limit of ${config.maxBodyBytes} bytes`, 'invalid_request_error', 'request_too_large')
      }
    })
    .onError({ as: 'global' }, ({ code, error, set, request, path }) => {
      const rendered = renderError(code, error, request.method, path, app)
      set.status = rendered.status
      if (rendered.status >= 500) logger.error('request failed', { method: request.method, path, status: rendered.status, err: String((error as Error)?.stack ?? error) })
      else logger.debug('request rejected', { method: request.method, path, status: rendered.status, code: rendered.body.error.code })
      return rendered.body
    })
    .use(healthRoutes(deps))
    .use(docsRoutes(deps))
    .use(modelsRoutes(deps))
    .use(responsesRoutes(deps))
    .use(passthroughRoutes(deps))
  return app
}

export type App = ReturnType<typeof createApp>

/** Maps anything thrown in a request to a status and the OpenAI error body. */
function renderError(code: unknown, error: unknown, method: string, path: string, app: Elysia<any, any, any, any, any, any, any>) {
  if (error instanceof ApiError) return { status: error.status, body: error.toJSON() }
  switch (code) {
    case 'VALIDATION': {
      const e = error as any
      const first = deepestError(e?.all?.[0] ?? {})
      const where = e?.type === 'query' ? 'query' : e?.type === 'params' ? 'path' : 'body'
      const p = typeof first.path === 'string' && first.path.length > 1 ? first.path.slice(1).replaceAll('/', '.') : null
      const message = validationMessage(first, p, where)
      return { status: 400, body: toErrorBody(message, 'invalid_request_error', where === 'body' ? 'invalid_value' : `invalid_${where}`, p) }
    }
    case 'PARSE':
      return { status: 400, body: toErrorBody('We could not parse the JSON body of your request. Send valid JSON with Content-Type: application/json.', 'invalid_request_error', 'invalid_json') }
    case 'NOT_FOUND': {
      const allowed = allowedMethods(app, path).filter((m) => m !== method)
      if (allowed.length) return { status: 405, body: toErrorBody(`Method ${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, 'invalid_request_error', 'method_not_allowed') }
      return { status: 404, body: toErrorBody(`Unknown route: ${method} ${path}`, 'invalid_request_error', 'unknown_url') }
    }
    case 'INVALID_COOKIE_SIGNATURE':
      return { status: 400, body: toErrorBody('Invalid cookie', 'invalid_request_error', 'invalid_cookie') }
    default: {
      const status = (error as any)?.status
      // Bun/Elysia errors that already carry a client status (e.g. 413 from the body limit).
      if (typeof status === 'number' && status >= 400 && status < 500)
        return { status, body: toErrorBody(String((error as Error)?.message || 'Bad request'), 'invalid_request_error', null) }
      return { status: 500, body: toErrorBody('Internal server error', 'server_error', 'server_error') }
    }
  }
}

/**
 * TypeBox reports a failed union (e.g. "object or null") at the union's path; the useful error is the
 * deepest one inside the branch that came closest, which names the actual field.
 */
function deepestError(err: any): any {
  if (!Array.isArray(err?.errors) || err.errors.length === 0) return err
  let best = err
  for (const branch of err.errors) {
    for (const sub of branch) {
      const candidate = deepestError(sub)
      if (typeof candidate.path === 'string' && candidate.path.length > (best.path?.length ?? 0)) best = candidate
    }
  }
  return best
}

function validationMessage(first: any, param: string | null, where: string): string {
  const what = param ? `${where === 'body' ? '' : where + ' parameter '}'${param}'` : `the request ${where}`
  const reason = first?.schema?.error ?? first?.summary ?? first?.message ?? 'is invalid'
  if (first?.value === undefined && param) return `Missing required parameter: ${what}.`
  return `Invalid value for ${what}: ${String(reason).replace(/^Property '[^']*' /, '')}`
}

/** Methods the app serves on `path`, for telling 405 from 404. */
function allowedMethods(app: Elysia<any, any, any, any, any, any, any>, path: string): string[] {
  const out = new Set<string>()
  for (const r of app.routes) {
    if (r.method === 'WS' || r.method === 'ALL') continue
    const pattern = new RegExp('^' + r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*') + '/?$')
    if (pattern.test(path)) out.add(r.method)
  }
  return [...out]
}
