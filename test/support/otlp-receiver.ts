// A loopback OpenTelemetry collector for the tracing tests: accepts OTLP/HTTP JSON on POST /v1/traces and keeps
// every span with its resource, or plays a broken collector (answers 503, or never answers).
import type { Server } from 'bun'

export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  /** attributes flattened to plain values */
  attrs: Record<string, unknown>
  status: { code: number; message?: string }
  resource: Record<string, unknown>
  scope: { name: string; version?: string }
}

export interface OtlpReceiver {
  /** base URL, as --otel-endpoint */
  url: string
  spans: ReceivedSpan[]
  /** export requests received (any mode) and their content types */
  requests: { contentType: string | null }[]
  mode: 'ok' | 'fail' | 'hang'
  /** Waits (bounded) until `pred` holds for the spans received; returns them. */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>
  stop(): Promise<void>
}

function plain(v: any): unknown {
  if (v == null) return undefined
  if ('stringValue' in v) return v.stringValue
  if ('intValue' in v) return Number(v.intValue)
  if ('doubleValue' in v) return v.doubleValue
  if ('boolValue' in v) return v.boolValue
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(plain)
  return v
}

const attrsOf = (list: any[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]))

export function startOtlpReceiver(): OtlpReceiver {
  const hanging: (() => void)[] = []
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      if (req.method !== 'POST' || url.pathname !== '/v1/traces') return new Response('not found', { status: 404 })
      rx.requests.push({ contentType: req.headers.get('content-type') })
      const body = (await req.json()) as any
      if (rx.mode === 'hang') return new Promise<Response>((resolve) => hanging.push(() => resolve(new Response('{}'))))
      if (rx.mode === 'fail') return new Response('unavailable', { status: 503 })
      for (const rs of body.resourceSpans ?? []) {
        const resource = attrsOf(rs.resource?.attributes)
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) rx.spans.push({ ...s, attrs: attrsOf(s.attributes), resource, scope: ss.scope })
      }
      return Response.json({})
    },
  })
  const rx: OtlpReceiver = {
    url: `http://127.0.0.1:${server.port}`,
    spans: [],
    requests: [],
    mode: 'ok',
    async waitFor(pred, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      while (!pred(rx.spans) && Date.now() < until) await Bun.sleep(20)
      return rx.spans
    },
    async stop() {
      for (const h of hanging) h()
      await server.stop(true)
    },
  }
  return rx
}
