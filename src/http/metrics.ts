// GET /metrics: every series of src/metrics in the Prometheus text format. An operator's endpoint, like /health:
// outside /v1 (no API key) and left out of the OpenAPI document; README "Observability" lists the series.
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import { PROMETHEUS_CONTENT_TYPE, type GatewayMetrics } from '../metrics'

export function metricsRoutes({ version }: AppDeps, metrics: GatewayMetrics) {
  metrics.setVersion(version)
  return new Elysia().get('/metrics', () => new Response(metrics.render(), { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } }), {
    detail: { hide: true },
  })
}
