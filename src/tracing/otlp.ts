// The OTLP/HTTP exporter: ended spans go into a bounded queue and leave in batches as OTLP JSON
// (`application/json`, POST {endpoint}/v1/traces). One export at a time, each with a timeout; when the queue is
// full, or an export fails, spans are dropped and counted — a dead or slow collector never holds up a request.
// Our own ~150 lines rather than the @opentelemetry SDK: the gateway needs spans, W3C propagation and this exporter,
// not the SDK's context managers, samplers and protobuf encodings, and a dozen packages in the compiled binary.
import type { Logger } from '../log'
import type { AttributeValue, Span, SpanKind, SpanSink } from './span'

export interface OtlpOptions {
  /** collector base URL; spans go to {endpoint}/v1/traces (an endpoint already ending in /v1/traces is kept) */
  endpoint: string
  /** resource attributes: service.name and the configured ones */
  resource: Record<string, string>
  scope: { name: string; version: string }
  logger: Logger
  /** spans waiting to be exported; past it new spans are dropped (OTEL_BSP_MAX_QUEUE_SIZE's default) */
  maxQueue?: number
  /** spans per export request */
  maxBatch?: number
  /** time between exports of a partial batch, ms */
  delayMs?: number
  /** one export request's time limit, ms */
  timeoutMs?: number
  /** spans dropped (queue full or export failed) */
  onDrop?: (count: number, reason: 'queue_full' | 'export_failed') => void
  fetch?: typeof fetch
}

const KIND: Record<SpanKind, number> = { internal: 1, server: 2, client: 3 }
const WARN_EVERY_MS = 60_000
const SHUTDOWN_WAIT_MS = 3_000

export interface OtlpExporter extends SpanSink {
  /** spans dropped since start */
  readonly dropped: number
  /** Exports what is queued (waiting for a running export first). */
  flush(): Promise<void>
  /** Stops the timer and exports what is left, bounded by the export timeout. */
  shutdown(): Promise<void>
}

export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '')
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`
}

export function createOtlpExporter(opts: OtlpOptions): OtlpExporter {
  const url = tracesUrl(opts.endpoint)
  const maxQueue = opts.maxQueue ?? 2048
  const maxBatch = opts.maxBatch ?? 512
  const timeoutMs = opts.timeoutMs ?? 10_000
  const doFetch = opts.fetch ?? fetch
  const resource = { attributes: toAttributes(opts.resource) }
  const scope = opts.scope
  let queue: Span[] = []
  let exporting: Promise<void> | null = null
  let dropped = 0
  let lastWarn = -Infinity
  let stopped = false

  const timer = setInterval(() => void exportSome(), opts.delayMs ?? 1000)
  // The exporter never keeps the process alive.
  ;(timer as { unref?: () => void }).unref?.()

  function drop(count: number, reason: 'queue_full' | 'export_failed', detail: string) {
    dropped += count
    opts.onDrop?.(count, reason)
    const now = Date.now()
    if (now - lastWarn >= WARN_EVERY_MS) {
      lastWarn = now
      opts.logger.warn('trace spans dropped', { reason, spans: count, dropped_total: dropped, detail })
    }
  }

  /** Starts one export of up to maxBatch spans unless one is running; resolves when that export has ended. */
  function exportSome(): Promise<void> {
    if (exporting || queue.length === 0) return exporting ?? Promise.resolve()
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch)
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch)
    exporting = send(batch).finally(() => {
      exporting = null
      // A full batch waiting goes at once rather than at the next tick.
      if (queue.length >= maxBatch && !stopped) void exportSome()
    })
    return exporting
  }

  async function send(batch: Span[]): Promise<void> {
    let body: string
    try {
      body = JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope, spans: batch.map(toOtlpSpan) }] }] })
    } catch (e) {
      drop(batch.length, 'export_failed', `could not encode spans: ${(e as Error)?.message ?? e}`)
      return
    }
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      })
      await res.body?.cancel().catch(() => {})
      if (!res.ok) drop(batch.length, 'export_failed', `collector answered ${res.status}`)
    } catch (e) {
      const err = e as NodeJS.ErrnoException | null
      drop(
        batch.length,
        'export_failed',
        err?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `collector unreachable: ${err?.code ?? err?.name ?? 'error'}`,
      )
    }
  }

  async function flush() {
    while (exporting || queue.length) await (exporting ?? exportSome())
  }

  return {
    get dropped() {
      return dropped
    },
    add(span) {
      if (stopped || queue.length >= maxQueue) {
        drop(1, 'queue_full', `queue holds ${maxQueue} spans`)
        return
      }
      queue.push(span)
      if (queue.length >= maxBatch) void exportSome()
    },
    flush,
    async shutdown() {
      if (stopped) return
      clearInterval(timer)
      const done = flush()
      stopped = true
      // Shutdown waits for the last export, but not for a collector that does not answer.
      await Promise.race([done, Bun.sleep(Math.min(timeoutMs, SHUTDOWN_WAIT_MS))])
    },
  }
}

/** One span as OTLP JSON (ids as hex, times as decimal strings of unix nanoseconds). */
function toOtlpSpan(s: Span) {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    kind: KIND[s.kind],
    startTimeUnixNano: unixNanos(s.startMs),
    endTimeUnixNano: unixNanos(s.endMs),
    attributes: toAttributes(s.attributes),
    status: s.statusCode === 2 ? { code: 2, message: s.statusMessage } : { code: 0 },
  }
}

function unixNanos(ms: number): string {
  const whole = Math.floor(ms)
  return (BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6))).toString()
}

function toAttributes(attrs: Record<string, AttributeValue>) {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }))
}

function anyValue(v: AttributeValue): Record<string, unknown> {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => ({ stringValue: x })) } }
  if (typeof v === 'boolean') return { boolValue: v }
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }
  return { stringValue: v }
}
