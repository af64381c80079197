// The gateway's metrics: every series GET /metrics exposes, with the methods the hooks call (app.ts for requests,
// the engine for turns, the WebSocket session, the background runner; the store and upstream client are timed by
// the wrappers in ./store.ts and ./upstream.ts). One instance per app, passed in with the other deps.
import { ApiError } from '../errors'
import type { UsageT } from '../schema/responses'
import { ProcessMetrics } from './process'
import { Registry, type CounterChild, type GaugeChild, type HistogramChild } from './registry'

export { PROMETHEUS_CONTENT_TYPE, Registry } from './registry'

/** The route label of a request no route matched (404/405): the raw path would make the label set unbounded. */
export const UNMATCHED_ROUTE = 'unmatched'
/** The model label once MAX_MODELS distinct models have been seen (model names come from clients). */
export const OTHER_MODEL = 'other'
const MAX_MODELS = 100

export type UpstreamErrorKind = 'unreachable' | 'timeout' | 'status' | 'stream'
export const UPSTREAM_ERROR_KINDS: readonly UpstreamErrorKind[] = ['unreachable', 'timeout', 'status', 'stream']
export const TURN_STATUSES = ['completed', 'failed', 'incomplete', 'cancelled'] as const

// Seconds. Requests are mostly quick JSON; model calls and first tokens take up to minutes; store queries are µs–ms.
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300]
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

export class GatewayMetrics {
  readonly registry = new Registry()

  private readonly buildInfo = this.registry.gauge('agentgate_build_info', 'Always 1; the version label says which agentgate serves.', [
    'version',
  ])
  private readonly httpRequests = this.registry.counter(
    'agentgate_http_requests_total',
    'HTTP requests answered, by matched route pattern, method and status (WebSocket upgrades: 101).',
    ['route', 'method', 'status'],
  )
  private readonly httpDuration = this.registry.histogram(
    'agentgate_http_request_duration_seconds',
    'Time from receiving a request to handing over its response (for SSE and pass-through streams: to the response headers).',
    ['route', 'method'],
    HTTP_BUCKETS,
  )
  private readonly upstreamDuration = this.registry.histogram(
    'agentgate_upstream_request_duration_seconds',
    'Time from sending an upstream request to its response headers, by upstream path.',
    ['path'],
    UPSTREAM_BUCKETS,
  )
  private readonly upstreamErrors = this.registry.counter(
    'agentgate_upstream_errors_total',
    'Upstream failures by kind: unreachable (no connection), timeout (no headers in time, or a stream gone idle), status (an HTTP error status), stream (a broken or truncated event stream).',
    ['kind'],
  )
  private readonly ttft = this.registry.histogram(
    'agentgate_time_to_first_token_seconds',
    'Time from the start of a streamed turn to its first output delta (text, reasoning or tool-call arguments), by model; a JSON turn gets its answer whole.',
    ['model'],
    TTFT_BUCKETS,
  )
  private readonly turns = this.registry.counter('agentgate_turns_total', 'Turns ended, by final status.', ['status'])
  private readonly inputTokens = this.registry.counter(
    'agentgate_input_tokens_total',
    'Input tokens of finished turns (usage.input_tokens), by model.',
    ['model'],
  )
  private readonly outputTokens = this.registry.counter(
    'agentgate_output_tokens_total',
    'Output tokens of finished turns (usage.output_tokens), by model.',
    ['model'],
  )
  private readonly storeDuration = this.registry.histogram(
    'agentgate_store_query_duration_seconds',
    'Time of one store operation (a Store method call), by operation.',
    ['operation'],
    STORE_BUCKETS,
  )
  private readonly spansDropped = this.registry.counter(
    'agentgate_trace_spans_dropped_total',
    'Trace spans not exported: the export queue was full, or the collector failed or did not answer in time.',
    ['reason'],
  )
  private readonly background = this.registry.gauge(
    'agentgate_background_turns',
    'Background turns in this process, by state (queued: waiting to call the model; running).',
    ['state'],
  )

  /** Turns calling the model right now (any edge). */
  readonly activeTurns = this.registry
    .gauge('agentgate_active_turns', 'Turns running in this process (from start to their stored end), any edge.')
    .labels()
  /** Server-Sent Event streams of the Responses API being written (create with stream:true, resume). */
  readonly activeSseStreams = this.registry
    .gauge(
      'agentgate_active_sse_streams',
      'SSE streams open: Responses API creates with stream:true and ?stream=true resumes, and pass-through streams (chat/completions, completions).',
    )
    .labels()
  readonly activeWebSockets = this.registry.gauge('agentgate_active_websockets', 'WebSocket connections open on /v1/responses.').labels()
  /** response.create requests waiting behind a running turn, over every socket. */
  readonly webSocketQueued = this.registry
    .gauge('agentgate_websocket_queued_requests', 'response.create requests queued behind a running turn, over all WebSockets.')
    .labels()
  readonly backgroundQueued = this.background.labels('queued')
  readonly backgroundRunning = this.background.labels('running')

  private readonly turnsByStatus: Record<string, CounterChild> = {}
  private readonly errorsByKind = {} as Record<UpstreamErrorKind, CounterChild>
  private readonly models = new Map<string, ModelSeries>()
  private otherModel: ModelSeries | null = null
  /** Signals of upstream calls whose failure was counted at the call, so the turn does not count it again. */
  private readonly failedCalls = new WeakSet<AbortSignal>()

  constructor() {
    // Series with a known, small label set are there from the start (at 0), so rate() and alerts see them at once.
    for (const s of TURN_STATUSES) this.turnsByStatus[s] = this.turns.labels(s)
    for (const k of UPSTREAM_ERROR_KINDS) this.errorsByKind[k] = this.upstreamErrors.labels(k)
  }

  /** Trace spans the exporter dropped (src/tracing/otlp.ts). */
  recordSpansDropped(count: number, reason: 'queue_full' | 'export_failed') {
    this.spansDropped.labels(reason).inc(count)
  }

  setVersion(version: string) {
    this.buildInfo.labels(version).set(1)
  }

  /** One HTTP request answered. `route` is the matched pattern (undefined when none matched). */
  recordRequest(route: string | undefined, method: string, status: number, seconds: number) {
    const r = route || UNMATCHED_ROUTE
    this.httpRequests.labels(r, method, statusLabel(status)).inc()
    this.httpDuration.labels(r, method).observe(seconds)
  }

  /** An upstream request got its response headers after `seconds`; a status >= 400 also counts as an error. */
  recordUpstreamResponse(path: string, status: number, seconds: number, signal?: AbortSignal) {
    this.upstreamDuration.labels(path).observe(seconds)
    if (status >= 400) this.recordUpstreamError('status', signal)
  }

  recordUpstreamError(kind: UpstreamErrorKind, signal?: AbortSignal) {
    this.errorsByKind[kind].inc()
    if (signal) this.failedCalls.add(signal)
  }

  /**
   * A turn's upstream stream failed after the call (`error`), or ended without a terminal event (null). Not counted
   * again when the call itself already failed (unreachable/timeout/status); errors that are not the upstream's (a 4xx
   * about the request) are not counted. Mid-stream: an idle stream is a timeout, anything else a broken stream.
   */
  recordStreamFailure(error: unknown, signal: AbortSignal) {
    if (this.failedCalls.has(signal)) return
    if (error instanceof ApiError && error.status !== 502 && error.status !== 504) return
    this.recordUpstreamError(error instanceof ApiError && error.status === 504 ? 'timeout' : 'stream', signal)
  }

  storeOperation(operation: string): HistogramChild {
    return this.storeDuration.labels(operation)
  }

  turnFirstDelta(model: string, seconds: number) {
    this.model(model).ttft.observe(seconds)
  }

  turnFinished(model: string, status: string, usage: UsageT | null) {
    ;(this.turnsByStatus[status] ??= this.turns.labels(status)).inc()
    if (!usage) return
    const m = this.model(model)
    m.input.inc(usage.input_tokens)
    m.output.inc(usage.output_tokens)
  }

  private model(name: string): ModelSeries {
    let m = this.models.get(name)
    if (m) return m
    if (this.models.size >= MAX_MODELS) return (this.otherModel ??= this.modelSeries(OTHER_MODEL))
    this.models.set(name, (m = this.modelSeries(name)))
    return m
  }

  private modelSeries(label: string): ModelSeries {
    return { input: this.inputTokens.labels(label), output: this.outputTokens.labels(label), ttft: this.ttft.labels(label) }
  }

  /** process_* and nodejs_* series, refreshed at each scrape. */
  private readonly process = new ProcessMetrics(this.registry)

  /** The exposition of every series. */
  render(): string {
    this.process.collect()
    return this.registry.render()
  }

  /** Stops the event-loop lag sampler (when the app stops). */
  stop() {
    this.process.stop()
  }
}

interface ModelSeries {
  input: CounterChild
  output: CounterChild
  ttft: HistogramChild
}

export function createMetrics(): GatewayMetrics {
  return new GatewayMetrics()
}

/** A gauge a consumer holds while something is open (an SSE stream, a socket). */
export type OpenGauge = Pick<GaugeChild, 'inc' | 'dec'>

const statusLabels = new Map<number, string>()
const statusLabel = (status: number) => {
  let label = statusLabels.get(status)
  if (label === undefined) statusLabels.set(status, (label = String(status)))
  return label
}
