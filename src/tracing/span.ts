// Spans and the tracer that starts them, with W3C trace context (traceparent) in and out. A span is a small
// object that records itself with its exporter when it ends; with --otel-endpoint unset there is no tracer at all,
// and every call site is `tracer?.start(...)` / `span?.set(...)`: a null check, nothing allocated.

export type SpanKind = 'internal' | 'server' | 'client'
export type AttributeValue = string | number | boolean | string[]

/** Where a span hangs in a trace: its parent's ids and whether the trace is sampled (traceparent's flag). */
export interface SpanContext {
  traceId: string
  spanId: string
  sampled: boolean
}

/** Receives ended spans (the OTLP exporter). */
export interface SpanSink {
  add(span: Span): void
}

const HEX = '0123456789abcdef'

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes))
  let s = ''
  for (const x of b) s += HEX[x >> 4] + HEX[x & 15]
  return s
}

/** Unix time in ms with sub-ms precision (performance.now is monotonic; timeOrigin anchors it). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/**
 * The parent a `traceparent` header names (W3C Trace Context §3.2), or null when it is absent or invalid (then the
 * request starts a new trace). Version ff and all-zero ids are invalid; version 00 has exactly four fields.
 */
export function parseTraceparent(header: string | null | undefined): SpanContext | null {
  if (!header) return null
  const m = TRACEPARENT.exec(header.trim().toLowerCase())
  if (!m) return null
  const [, version, traceId, spanId, flags, rest] = m
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 }
}

export class Span implements SpanContext {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | null
  /** not sampled (the incoming traceparent said so): propagated, never exported */
  readonly sampled: boolean
  readonly startMs = nowMs()
  endMs = 0
  readonly attributes: Record<string, AttributeValue> = {}
  /** OTLP status: 0 unset, 2 error */
  statusCode: 0 | 2 = 0
  statusMessage = ''

  constructor(
    private readonly sink: SpanSink,
    public name: string,
    readonly kind: SpanKind,
    parent: SpanContext | null | undefined,
  ) {
    this.traceId = parent?.traceId ?? randomHex(16)
    this.parentSpanId = parent?.spanId ?? null
    this.sampled = parent?.sampled ?? true
    this.spanId = randomHex(8)
  }

  /** Sets an attribute; undefined and null are left out (an unknown value is no value). */
  set(key: string, value: AttributeValue | null | undefined): this {
    if (value !== undefined && value !== null) this.attributes[key] = value
    return this
  }

  /** Marks the span failed (status ERROR) with a message safe to export, and the error's type. */
  fail(message: string, type?: string): this {
    this.statusCode = 2
    this.statusMessage = message
    if (type) this.attributes['error.type'] = type
    return this
  }

  /** Ends the span (once) and hands it to the exporter when its trace is sampled. */
  end(): void {
    if (this.endMs) return
    this.endMs = nowMs()
    if (this.sampled) this.sink.add(this)
  }

  get ended(): boolean {
    return this.endMs !== 0
  }

  /** The W3C traceparent naming this span as the parent, for the next hop. */
  traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-${this.sampled ? '01' : '00'}`
  }
}

export class Tracer {
  /** @param dbSystem the store's db.system.name (sqlite, postgresql) on store spans */
  constructor(
    private readonly sink: SpanSink,
    readonly dbSystem: string,
  ) {}

  /** A span, child of `parent` (a span or a remote context), or the root of a new trace. */
  start(name: string, kind: SpanKind, parent?: SpanContext | null): Span {
    return new Span(this.sink, name, kind, parent)
  }

  /** Runs `fn` inside a child span of `parent`, ending it (failed, when `fn` throws) when `fn` settles. */
  async inSpan<T>(
    name: string,
    kind: SpanKind,
    parent: SpanContext | null | undefined,
    attributes: Record<string, AttributeValue>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const span = this.start(name, kind, parent)
    for (const k in attributes) span.set(k, attributes[k])
    try {
      return await fn()
    } catch (e) {
      span.fail(errorMessage(e), errorType(e))
      throw e
    } finally {
      span.end()
    }
  }
}

/** A store transaction's span under `parent` (client kind, db.* attributes); undefined when there is no parent span. */
export function childSpan(tracer: Tracer | null | undefined, parent: Span | undefined, operation: string): Span | undefined {
  if (!parent || !tracer) return undefined
  return tracer.start(`store ${operation}`, 'client', parent).set('db.system.name', tracer.dbSystem).set('db.operation.name', operation)
}

/** Ends a span that may not exist; `error` (thrown, or a `{ code, message }`) marks it failed. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return
  if (error !== undefined && error !== null) span.fail(errorMessage(error), errorType(error))
  span.end()
}

export function errorMessage(e: unknown): string {
  return String((e as Error)?.message ?? e).slice(0, 500)
}

export function errorType(e: unknown): string {
  const code = (e as { errorCode?: unknown })?.errorCode ?? (e as { code?: unknown })?.code
  return typeof code === 'string' ? code : ((e as Error)?.name ?? 'Error')
}
