// createApp(deps): the whole HTTP/WebSocket surface as one Elysia app, built from injected dependencies (deps.ts).
// createGateway (gateway.ts) is what builds it for the binary and the tests; a route-level test may use it alone.

import { Elysia } from 'elysia'
import { ApiError, fromStoreError, toErrorBody, type ErrorBody } from './errors'
import { isStoreError } from './store/errors'
import { validationError } from './schema/validate'
import { healthRoutes } from './http/health'
import { passthroughRoutes } from './http/passthrough'
import { docsRoutes } from './http/docs'
import { modelsRoutes } from './http/models'
import { responsesRoutes } from './http/responses'
import { sessionToolRoutes } from './http/session-tools'
import { conversationsRoutes } from './http/conversations'
import { messagesRoutes } from './http/messages'
import { isMessagesPath, toAnthropicError } from './messages/errors'
import { createBackgroundRunner } from './engine/background'
import { responsesSocketRoutes } from './ws/responses'
import { createTurnEngine } from './engine/turn'
import { createUpstreamAdapter } from './upstream'
import { authFromConfig } from './auth'
import { METRICS_ROUTE, OPEN_ROUTES, routeTable } from './http/routes'
import { createMetrics } from './metrics'
import { instrumentStore } from './metrics/store'
import { instrumentUpstream } from './metrics/upstream'
import { requestIdOf, requestObserver, type HookSet } from './metrics/http'
import { metricsRoutes } from './http/metrics'
import { limitRequestBody } from './http/body-limit'
import { pathOf } from './http/request-url'
import { Drain, shuttingDown } from './engine/drain'
import { createTracing } from './tracing'
import { traceUpstream } from './tracing/upstream'
import { createSealer } from './sealing/sealer'
import { loadSealingKeys } from './sealing/keys'
import { upstreamTokenizer } from './upstream/tokenize'
import { upstreamContextWindows } from './upstream/context-window'

import type { AppDeps } from './deps'

export type { AppDeps } from './deps'

export function createApp(deps: AppDeps) {
  // From here on every route, the engine and the background runner see the store and upstream timed by the metrics.
  const metrics = deps.metrics ?? createMetrics()
  const drain = deps.drain ?? new Drain()
  // Traces only with --otel-endpoint: otherwise tracing is null and every hook below is a null check.
  const tracing = createTracing(deps.config, {
    logger: deps.logger,
    version: deps.version,
    onDrop: (n, reason) => metrics.recordSpansDropped(n, reason),
  })
  const upstream = instrumentUpstream(deps.upstream, metrics)
  const sealer = deps.sealer ?? createSealer(loadSealingKeys(deps.config))
  deps = {
    ...deps,
    metrics,
    drain,
    tracing,
    sealer,
    store: instrumentStore(deps.store, metrics),
    upstream: tracing ? traceUpstream(upstream, tracing) : upstream,
  }
  const { config, logger, onActivity } = deps
  // The app's routes in Elysia's router, for what is decided before routing: open or not, a metric's route label.
  // --metrics-public: a Prometheus scraper reads /metrics without a key; everything else still needs one.
  const routes = routeTable(() => app.routes, config.metricsPublic ? [...OPEN_ROUTES, METRICS_ROUTE] : OPEN_ROUTES)
  const requests = requestObserver(metrics, deps.logger, routes.routeOf)
  // API keys → tenants (src/auth.ts): authenticated once per request in onRequest; the routes of a tenant get the
  // result as `caller` (http/caller.ts). With an OIDC issuer, bearer tokens that are not keys are verified against
  // its keys (src/oidc.ts).
  const auth = deps.auth ?? authFromConfig(config, logger)
  // One engine for every edge: HTTP JSON, SSE and WebSocket turns all run through it.
  const engine = createTurnEngine({
    store: deps.store,
    adapter: createUpstreamAdapter(config.upstreamApi, deps.upstream, {
      maxSseLineBytes: config.maxSseLineBytes,
      maxStreamBytes: config.maxStreamBytes,
    }),
    clock: deps.clock,
    ids: deps.ids,
    logger,
    limits: { maxHistoryItems: config.maxHistoryItems, maxStoredResponseBytes: config.maxStoredResponseBytes },
    metrics,
    drain,
    tracer: tracing?.tracer,
    sealer,
    tokenizer: upstreamTokenizer(deps.upstream),
    windows: upstreamContextWindows(deps.upstream, config.models),
    mcp: deps.mcp,
    webSearch: deps.webSearch ?? null,
    toolBounds: {
      maxRounds: config.maxToolRounds,
      callTimeoutMs: config.toolCallTimeoutMs,
      concurrency: config.toolCallConcurrency,
      maxOutputBytes: config.maxToolOutputBytes,
    },
  })
  const background = deps.background ?? createBackgroundRunner({ store: deps.store, logger, metrics })
  const app = new Elysia({
    // Bun's own body limit is set out of the way: ours (http/body-limit.ts) answers 413 in the error shape.
    // Port reuse off (Elysia turns it on): a second gateway on a taken port must fail to start, not share it.
    serve: { maxRequestBodySize: Number.MAX_SAFE_INTEGER, idleTimeout: 255, reusePort: false },
    // Oversized frames close the socket with 1009; a slow reader backs up to the limit, then the
    // session waits for drain (never closes for it).
    websocket: {
      maxPayloadLength: config.maxWsFrameBytes,
      idleTimeout: config.wsIdleTimeoutS,
      backpressureLimit: 4 * 1024 * 1024,
      closeOnBackpressureLimit: false,
    },
  })
    // The hooks name the parts of the context they read in their parameters, never take it whole: Elysia decides
    // from the hooks' source (its "sucrose" analysis) what every route parses, and a hook taking `ctx` (or passing it
    // on) made each request parse its cookies, its query and a copy of all its headers, whoever needed them.
    .onRequest(async function ({ request, set, path: routedPath }: { request: Request; set: HookSet; path?: string }) {
      const requestId = request.headers.get('x-request-id') || deps.ids('req')
      requests.started(set, requestId)
      onActivity?.()
      set.headers['x-request-id'] = requestId
      // With keys configured, everything but the open routes needs one — checked before anything reads the request
      // (body limit, parsing, validation), and before a WebSocket upgrade happens.
      // path is the path Elysia routes by: on the context at run time, though not in onRequest's type.
      const path = routedPath ?? pathOf(request.url)
      // Anthropic's clients read the request id from `request-id`.
      if (isMessagesPath(path)) set.headers['request-id'] = requestId
      tracing?.requestStarted(request, path)
      if (auth.enabled && !routes.isOpen(path)) {
        try {
          await auth.authenticate(request)
        } catch (e) {
          if (!(e instanceof ApiError)) throw e
          set.status = e.status
          Object.assign(set.headers, e.headers)
          const { route } = requests.answered({ request, set, path }, e.status)
          tracing?.requestEnded(request, e.status, route)
          logger.debug('request rejected', { request_id: requestId, method: request.method, path, status: e.status, code: e.errorCode })
          return inWireShape(path, e.status, e.toJSON(), set)
        }
      }
      // Shutting down: no new WebSocket sessions (turns over HTTP are refused by the engine, after validation).
      if (drain.draining && request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
        const e = shuttingDown()
        set.status = e.status
        Object.assign(set.headers, e.headers)
        const { route } = requests.answered({ request, set, path }, e.status)
        tracing?.requestEnded(request, e.status, route)
        return e.toJSON()
      }
      // The context itself (not a parameter, see above): a chunked body is swapped for one counted against the limit.
      // biome-ignore lint/complexity/noArguments: a rest parameter would be the whole context again for Elysia
      const tooLarge = limitRequestBody(arguments[0] as { request: Request }, config.maxBodyBytes)
      if (tooLarge) {
        set.status = 413
        // An answer from onRequest skips onAfterResponse: counted here.
        const { route } = requests.answered({ request, set, path }, 413)
        tracing?.requestEnded(request, 413, route)
        return inWireShape(path, 413, tooLarge.toJSON(), set)
      }
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, path, route, responseValue }) => {
      const { status, route: label } = requests.answered({ request, set, path, route, responseValue })
      tracing?.requestEnded(request, status, label)
    })
    .onError({ as: 'global' }, ({ code, error, set, request, path }) => {
      const rendered = renderError(code, error, request.method, path, routes.methodsFor)
      set.status = rendered.status
      if (rendered.headers) Object.assign(set.headers, rendered.headers)
      // A bug (500) is an error, with its stack; a failing storage (503 storage_unavailable) an error with the
      // driver's words; an upstream that is down or slow (502/504) is a warning whose message says it all.
      const request_id = requestIdOf(set)
      if (rendered.status === 500)
        logger.error('request failed', {
          request_id,
          method: request.method,
          path,
          status: rendered.status,
          err: String((error as Error)?.stack ?? error),
        })
      else if (rendered.body.error.code === 'storage_unavailable')
        logger.error('storage unavailable', {
          request_id,
          method: request.method,
          path,
          status: rendered.status,
          err: String((error as Error)?.cause ?? error),
        })
      else if (rendered.status > 500)
        logger.warn('upstream failure', {
          request_id,
          method: request.method,
          path,
          status: rendered.status,
          message: rendered.body.error.message,
        })
      else
        logger.debug('request rejected', {
          request_id,
          method: request.method,
          path,
          status: rendered.status,
          code: rendered.body.error.code,
        })
      return inWireShape(path, rendered.status, rendered.body, set)
    })
    .use(healthRoutes(deps))
    .use(metricsRoutes(deps, metrics))
    .use(docsRoutes(deps))
    .use(modelsRoutes(deps))
    .use(sessionToolRoutes(engine, auth))
    .use(responsesRoutes(deps, engine, background, auth))
    .use(conversationsRoutes(deps, auth, sealer))
    .use(messagesRoutes(deps, engine, auth))
    .onStop(() => {
      void background.shutdown()
      metrics.stop()
    })
    .onStop(() => tracing?.shutdown())
    .use(responsesSocketRoutes(deps, engine, auth))
    .use(passthroughRoutes(deps))
  return app
}

export type App = ReturnType<typeof createApp>

/** An error body as the route's wire format has it: Anthropic's envelope and status on /v1/messages, ours elsewhere. */
function inWireShape(path: string, status: number, body: ErrorBody, set: { status?: unknown }): unknown {
  if (!isMessagesPath(path)) return body
  const a = toAnthropicError(status, body)
  set.status = a.status
  return a.body
}

/** Maps anything thrown in a request to a status and the OpenAI error body. */
function renderError(
  code: unknown,
  error: unknown,
  method: string,
  path: string,
  methodsFor: (path: string) => string[],
): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (error instanceof ApiError) return { status: error.status, body: error.toJSON(), headers: error.headers }
  if (isStoreError(error)) {
    const api = fromStoreError(error)
    return { status: api.status, body: api.toJSON() }
  }
  // Elysia wraps whatever the body read threw (e.g. our 413 for an oversized chunked body) in a ParseError.
  const cause = (error as Error | undefined)?.cause
  if (cause instanceof ApiError) return { status: cause.status, body: cause.toJSON() }
  switch (code) {
    case 'VALIDATION': {
      // Elysia's ValidationError: `all` holds the TypeBox errors, `type` the part of the request that failed
      const e = error as { all?: unknown[]; type?: string } | null
      const err = validationError(e?.all?.[0], e?.type === 'query' ? 'query' : e?.type === 'params' ? 'path' : 'body')
      return { status: 400, body: err.toJSON() }
    }
    case 'PARSE':
      return {
        status: 400,
        body: toErrorBody(
          'We could not parse the JSON body of your request. Send valid JSON with Content-Type: application/json.',
          'invalid_request_error',
          'invalid_json',
        ),
      }
    case 'NOT_FOUND': {
      const allowed = methodsFor(path).filter((m) => m !== method)
      if (allowed.length)
        return {
          status: 405,
          headers: { allow: allowed.join(', ') },
          body: toErrorBody(
            `Method ${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
            'invalid_request_error',
            'method_not_allowed',
          ),
        }
      return { status: 404, body: toErrorBody(`Unknown route: ${method} ${path}`, 'invalid_request_error', 'unknown_url') }
    }
    case 'INVALID_COOKIE_SIGNATURE':
      return { status: 400, body: toErrorBody('Invalid cookie', 'invalid_request_error', 'invalid_cookie') }
    default: {
      const status = (error as { status?: unknown } | null)?.status
      // Bun/Elysia errors that already carry a client status (e.g. 413 from the body limit).
      if (typeof status === 'number' && status >= 400 && status < 500)
        return { status, body: toErrorBody(String((error as Error)?.message || 'Bad request'), 'invalid_request_error', null) }
      return { status: 500, body: toErrorBody('Internal server error', 'server_error', 'server_error') }
    }
  }
}
