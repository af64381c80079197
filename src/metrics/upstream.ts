// Times every upstream HTTP call to its response headers and counts its failures by kind, by wrapping the
// UpstreamClient once, in createApp (the routes, the engine's adapters and /ready all call through it).
import { ApiError } from '../errors'
import type { UpstreamCall, UpstreamClient } from '../upstream/client'
import type { GatewayMetrics } from './index'

export function instrumentUpstream(client: UpstreamClient, metrics: GatewayMetrics): UpstreamClient {
  const timed = async (req: UpstreamCall, send: (req: UpstreamCall) => Promise<Response>): Promise<Response> => {
    const t0 = performance.now()
    let res: Response
    try {
      res = await send(req)
    } catch (e) {
      // The client maps network failures to 502 (unreachable) and 504 (no headers in time); 499 is the client
      // leaving and 413 a body over our limit: not the upstream's fault.
      const status = e instanceof ApiError ? e.status : 502
      if (status === 502 || status === 504) metrics.recordUpstreamError(status === 504 ? 'timeout' : 'unreachable', req.signal)
      throw e
    }
    metrics.recordUpstreamResponse(req.path, res.status, (performance.now() - t0) / 1000, req.signal)
    return res
  }
  const call = (req: UpstreamCall) => client.call(req)
  const proxy = (req: UpstreamCall) => client.proxy(req)
  return {
    baseUrl: client.baseUrl,
    idleTimeoutMs: client.idleTimeoutMs,
    call: (req) => timed(req, call),
    proxy: (req) => timed(req, proxy),
  }
}
