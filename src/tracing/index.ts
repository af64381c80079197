// Tracing for one app: the tracer and exporter a Config asks for (none without --otel-endpoint), and the server
// span of each HTTP request — started before auth and routing, found again by the routes through the request's
// headers (Bun hands out one Headers object per request), ended when the response is handed over.
import type { Config } from '../config'
import type { Logger } from '../log'
import { createOtlpExporter, type OtlpExporter } from './otlp'
import { parseTraceparent, type Span, Tracer } from './span'

export { Span, Tracer, parseTraceparent } from './span'

export interface Tracing {
  readonly tracer: Tracer
  readonly exporter: OtlpExporter
  /** Starts the request's server span, continuing the trace of an incoming `traceparent`. */
  requestStarted(request: Request, path: string): void
  /** Ends it with the status and the matched route pattern (undefined when no route matched). */
  requestEnded(request: Request, status: number, route: string | undefined): void
  /** The request's server span (by the request or its headers). */
  spanOf(request: Request | Headers): Span | undefined
  /** Exports what is left; stops the exporter. */
  shutdown(): Promise<void>
}

export function createTracing(
  config: Pick<Config, 'otelEndpoint' | 'otelServiceName' | 'otelResourceAttributes' | 'databaseUrl'>,
  opts: { logger: Logger; version: string; onDrop?: (count: number, reason: 'queue_full' | 'export_failed') => void },
): Tracing | null {
  if (!config.otelEndpoint) return null
  const exporter = createOtlpExporter({
    endpoint: config.otelEndpoint,
    resource: { ...config.otelResourceAttributes, 'service.name': config.otelServiceName, 'service.version': opts.version },
    scope: { name: 'agentgate', version: opts.version },
    logger: opts.logger,
    onDrop: opts.onDrop,
  })
  const tracer = new Tracer(exporter, config.databaseUrl ? 'postgresql' : 'sqlite')
  const spans = new WeakMap<Headers, Span>()
  return {
    tracer,
    exporter,
    requestStarted(request, path) {
      const span = tracer.start(request.method, 'server', parseTraceparent(request.headers.get('traceparent')))
      span
        .set('http.request.method', request.method)
        .set('url.path', path)
        .set('user_agent.original', request.headers.get('user-agent') ?? undefined)
      // request.url is only the target when the Host was missing or invalid (src/http/request-url.ts).
      const url = URL.parse(request.url)
      if (url)
        span
          .set('url.scheme', url.protocol.replace(':', ''))
          .set('server.address', url.hostname)
          .set('server.port', Number(url.port) || undefined)
      const id = request.headers.get('x-request-id')
      if (id) span.set('agentgate.request_id', id)
      spans.set(request.headers, span)
    },
    requestEnded(request, status, route) {
      const span = spans.get(request.headers)
      if (!span || span.ended) return
      // Semantic conventions: "{method} {http.route}", the method alone when no route matched.
      if (route) span.name = `${request.method} ${route}`
      span.set('http.route', route).set('http.response.status_code', status)
      if (status >= 500) span.fail(`HTTP ${status}`, String(status))
      span.end()
    },
    spanOf(request) {
      return spans.get(request instanceof Headers ? request : request.headers)
    },
    shutdown: () => exporter.shutdown(),
  }
}
