// createApp(deps): the whole HTTP/WebSocket surface as one Elysia app, built from injected
// dependencies so tests run a real server on port 0 with a fake upstream and a temp database.

import { Elysia } from 'elysia'
import type { Config } from './config'
import { ApiError, toErrorBody } from './errors'
import { validationError } from './schema/validate'
import type { IdSource } from './ids'
import type { Logger } from './log'
import type { Store } from './store/types'
import type { UpstreamClient } from './upstream/client'
import { healthRoutes } from './http/health'
import { passthroughRoutes } from './http/passthrough'
import { docsRoutes } from './http/docs'
import { modelsRoutes } from './http/models'
import { responsesRoutes } from './http/responses'
import { responsesSocketRoutes } from './ws/responses'
import { createTurnEngine } from './engine/turn'
import { responsesAdapter } from './upstream/responses'

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
  // One engine for every edge: HTTP JSON, SSE and WebSocket turns all run through it.
  const engine = createTurnEngine({
    store: deps.store,
    adapter: responsesAdapter(deps.upstream, { maxSseLineBytes: config.maxSseLineBytes }),
    clock: deps.clock,
    ids: deps.ids,
    logger,
  })
  const app = new Elysia({
    // Bun rejects larger bodies itself (413, empty body); Content-Length is checked first below so that
    // the common case gets the JSON error shape.
    serve: { maxRequestBodySize: config.maxBodyBytes, idleTimeout: 255 },
    // Oversized frames close the socket with 1009; a slow reader backs up to the limit, then the
    // session waits for drain (never closes for it).
    websocket: { maxPayloadLength: config.maxWsFrameBytes, idleTimeout: config.wsIdleTimeoutS, backpressureLimit: 4 * 1024 * 1024, closeOnBackpressureLimit: false },
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
    .use(responsesRoutes(deps, engine))
    .use(responsesSocketRoutes(deps, engine))
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
      const err = validationError(e?.all?.[0], e?.type === 'query' ? 'query' : e?.type === 'params' ? 'path' : 'body')
      return { status: 400, body: err.toJSON() }
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
