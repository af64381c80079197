// Client spans for the upstream calls routes make on behalf of a request (pass-through, model list): a child of the
// request's server span, with its traceparent sent upstream in place of the client's. The turn's model call has
// its own span in the engine (it lasts the whole stream and carries the GenAI attributes); calls with no request
// span behind them (readiness probes) are not traced.
import type { UpstreamCall, UpstreamClient } from '../upstream/client'
import type { Tracing } from './index'

export function traceUpstream(client: UpstreamClient, tracing: Tracing): UpstreamClient {
  const base = new URL(client.baseUrl)
  const traced = async (req: UpstreamCall, send: (req: UpstreamCall) => Promise<Response>): Promise<Response> => {
    const parent = req.parentSpan ?? (req.headers instanceof Headers ? tracing.spanOf(req.headers) : undefined)
    if (!parent) return send(req)
    const method = req.method ?? 'GET'
    const span = tracing.tracer
      .start(method, 'client', parent)
      .set('http.request.method', method)
      .set('server.address', base.hostname)
      .set('server.port', Number(base.port) || (base.protocol === 'https:' ? 443 : 80))
      .set('url.full', client.baseUrl + req.path)
    const headers = new Headers(req.headers as Headers)
    headers.set('traceparent', span.traceparent())
    headers.delete('tracestate')
    try {
      const res = await send({ ...req, headers, parentSpan: undefined })
      span.set('http.response.status_code', res.status)
      if (res.status >= 500) span.fail(`HTTP ${res.status}`, String(res.status))
      return res
    } catch (e) {
      span.fail(String((e as Error)?.message ?? e).slice(0, 500), (e as { errorCode?: string })?.errorCode ?? 'error')
      throw e
    } finally {
      span.end()
    }
  }
  return {
    baseUrl: client.baseUrl,
    idleTimeoutMs: client.idleTimeoutMs,
    call: (req) => traced(req, (r) => client.call(r)),
    proxy: (req) => traced(req, (r) => client.proxy(r)),
  }
}
